"""Create documents from uploaded files and (re)queue them. The API and the management
commands both go through these functions."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from core.errors import FieldErrors, UserError
from knowledge import finish_notice, transitions
from knowledge.fetch import url_file_name
from knowledge.models import TERMINAL_STATUSES, Document, KnowledgeBase, Status
from knowledge.names import clean_file_name, clean_name
from knowledge.queue import enqueue_processing
from llm_models.models import LanguageModel
from llm_models.options import LLM_OPTION_NAMES, validate_llm_options, without_llm_options
from stt_models.models import SpeechModel
from stt_models.options import OPTION_NAMES, validate_options
from stt_models.registry import SpeechModelNotFound, resolve_speech_model

UPLOAD_OPTION_NAMES = OPTION_NAMES + LLM_OPTION_NAMES


class DuplicateMedia(UserError):
    """The knowledge base refuses duplicates and already holds this media (``document``)."""

    code = "duplicate"

    def __init__(self, document: Document, filename: str) -> None:
        where = (
            f"as document {document.pk} ({document.name!r})" if document.pk else f"in this upload as {document.name!r}"
        )
        super().__init__(f"{filename!r} is already in this knowledge base {where}; it refuses duplicates")
        self.document = document


@dataclass
class Processing:
    """How an upload is to be processed: its models and validated options, the speech model's
    (``Document.options``) apart from the LLM's (``Document.llm_options``)."""

    stt_model: SpeechModel
    llm_model: LanguageModel | None
    options: dict[str, Any]
    llm_options: dict[str, Any]


def resolve_processing(stt_model: str | int | None, llm_model: str | int | None, raw: dict[str, Any],
                       knowledge_base: KnowledgeBase | None = None) -> Processing:  # fmt: skip
    """Pick the models and validate the options against them. What the upload does not name
    comes from its knowledge base (its speech model and language), then the site's defaults."""
    if knowledge_base is not None:
        if stt_model in (None, "") and knowledge_base.stt_model_id is not None:
            stt_model = knowledge_base.stt_model_id
        if knowledge_base.language and str(raw.get("language") or "").strip() == "":
            raw = {**raw, "language": knowledge_base.language}
    try:
        speech_model = resolve_speech_model(stt_model)
    except SpeechModelNotFound as exc:
        raise FieldErrors({"stt_model_id": str(exc)})
    errors: dict[str, str] = {}
    options: dict[str, Any] = {}
    llm_options: dict[str, Any] = {}
    language_model = None
    try:
        options = validate_options(speech_model, raw)
    except FieldErrors as exc:
        errors.update(exc.errors)
    try:
        language_model, llm_options = validate_llm_options(llm_model, raw)
    except FieldErrors as exc:
        errors.update(exc.errors)
    if errors:
        raise FieldErrors(errors)
    return Processing(speech_model, language_model, options, llm_options)


MEDIA_SUFFIXES = frozenset(
    ".mp3 .wav .m4a .aac .flac .ogg .oga .opus .wma .webm .mp4 .m4v .mov .mkv .avi .3gp .amr .mpeg .mpg .ts".split()
)


def stored_name(filename: str) -> str:
    """A generated storage name: the user's file name is data (``Document.name``), never a path.
    A media extension is kept for people looking at the folder, any other is dropped; the media
    type is decided from the content."""
    suffix = Path(filename).suffix.lower()
    return uuid.uuid4().hex + (suffix if suffix in MEDIA_SUFFIXES else "")


def _digest(upload: File) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    for chunk in upload.chunks():
        sha.update(chunk)
        size += len(chunk)
    upload.seek(0)
    return sha.hexdigest(), size


def create_documents(
    knowledge_base: KnowledgeBase,
    uploads: Iterable[File],
    *,
    urls: Iterable[str] = (),
    stt_model: SpeechModel,
    llm_model: LanguageModel | None = None,
    options: dict[str, Any] | None = None,
    llm_options: dict[str, Any] | None = None,
    owner: Any = None,
    name: str | None = None,
    priority: str = "normal",
    callback_url: str = "",
) -> list[Document]:
    """Store each file as a PENDING document, and make a PENDING document of each URL (checked
    by the caller with ``fetch.check_url``) that its worker downloads first; enqueue them after
    commit. ``name`` applies to a single upload; otherwise each document is named after its
    file. If anything fails, the files stored so far are removed with the rolled-back rows."""
    uploads, urls = list(uploads), list(urls)
    single = len(uploads) + len(urls) == 1

    def new(filename: str, **fields: Any) -> Document:
        chosen = clean_name(name) if name and single else ""
        return Document(
            knowledge_base=knowledge_base, name=chosen or clean_name(filename) or "upload", stt_model=stt_model,
            llm_model=llm_model, options=dict(options or {}), llm_options=dict(llm_options or {}),
            priority=priority, callback_url=callback_url,
            owner=owner if getattr(owner, "is_authenticated", False) else None, task_id=str(uuid.uuid4()),
            status_meta={Status.PENDING: timezone.now().isoformat()}, **fields,
        )  # fmt: skip

    documents: list[Document] = []
    stored: list[str] = []
    try:
        with transaction.atomic():
            for upload in uploads:
                sha256, size = _digest(upload)
                filename = clean_file_name(upload.name or "") or "upload"
                if knowledge_base.duplicates == "refuse":
                    _refuse_duplicate(knowledge_base, sha256, filename, documents)
                doc = new(filename, sha256=sha256, size=size, source_url=getattr(upload, "source_url", ""))
                doc.file.save(stored_name(filename), upload, save=False)
                stored.append(doc.file.name)
                documents.append(doc)
            for url in urls:
                documents.append(new(url_file_name(url), source_url=url))
            for doc in documents:
                doc.save()
                enqueue_processing(doc.pk, doc.task_id, doc.priority)
    except BaseException:
        for path in stored:
            default_storage.delete(path)
        raise
    return documents


def held_copy(knowledge_base_id: int, sha256: str, *, before: Document | None = None) -> Document | None:
    """The knowledge base's first document with these bytes (made before ``before``, when
    given); one that failed or was cancelled does not count."""
    held = Document.objects.filter(knowledge_base_id=knowledge_base_id, sha256=sha256)
    if before is not None:
        held = held.exclude(pk=before.pk).filter(created_at__lt=before.created_at)
    return held.exclude(status__in=[Status.FAILURE, Status.REVOKED]).order_by("created_at").first()


def _refuse_duplicate(knowledge_base: KnowledgeBase, sha256: str, filename: str, batch: list[Document]) -> None:
    """DuplicateMedia when the knowledge base (or this upload) already holds these bytes; a
    document that failed or was cancelled does not count."""
    same = next((d for d in batch if d.sha256 == sha256), None) or held_copy(knowledge_base.pk, sha256)
    if same is not None:
        raise DuplicateMedia(same, filename)


def attach_download(document: Document, task_id: str, download: File) -> None:
    """Store the file a worker downloaded for a URL document, while that task owns it. Its name
    replaces the one taken from the URL, unless the uploader named the document."""
    sha256, size = _digest(download)
    name = document.name
    if name == url_file_name(document.source_url):
        name = clean_name(download.name or "") or name
    if document.knowledge_base.duplicates == "refuse":
        same = held_copy(document.knowledge_base_id, sha256, before=document)
        if same is not None:
            raise DuplicateMedia(same, name)
    document.file.save(stored_name(download.name or ""), download, save=False)
    try:
        transitions.report(document.pk, task_id, file=document.file.name, sha256=sha256, size=size, name=name)
    except BaseException:
        document.file.delete(save=False)
        raise
    document.sha256, document.size, document.name = sha256, size, name


def _apply(document: Document, plan: Processing) -> None:
    Document.objects.filter(pk=document.pk).update(
        stt_model=plan.stt_model, llm_model=plan.llm_model, options=plan.options, llm_options=plan.llm_options,
        reused_from=None,
        detected_language="", stt_model_used=None, warnings=[],
    )  # fmt: skip


def reprocess(document: Document, plan: Processing | None = None) -> bool:
    """FAILURE/REVOKED -> PENDING and enqueue again (with ``plan``'s models and options when
    given); False when the document is in another state."""
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        if not transitions.reset_for_reprocess(document.pk, task_id):
            return False
        if plan is not None:
            _apply(document, plan)
        enqueue_processing(document.pk, task_id, document.priority)
    return True


def plan_for(document: Document, stt_model: str | int | None = None, llm_model: str | int | None = None,
             raw: dict[str, Any] | None = None, keep_llm: bool = True) -> Processing:  # fmt: skip
    """The models and options of a run again: what is named replaces the document's own (the
    speech model, the LLM, each option); the rest stays as it was. FieldErrors when invalid."""
    given = dict(raw or {})
    stt = stt_model if stt_model not in (None, "") else document.stt_model_id
    llm = llm_model if llm_model not in (None, "") else (document.llm_model_id if keep_llm else None)
    options = {**document.options, **document.llm_options, **given}
    if llm is None:
        options = without_llm_options(options)
    return resolve_processing(stt, llm, options, knowledge_base=document.knowledge_base)


class RerunRefused(UserError):
    """The document cannot be re-run as asked: a one-line reason."""

    code = "rerun_refused"


def rerun(document: Document, plan: Processing, *, replace_corrections: bool = False) -> None:
    """Process a finished document again with ``plan``'s models and options. Its paragraphs stay
    searchable until the new ones replace them in one transaction (or stay, should the run
    fail); every run is kept in ``runs``. The stored transcript is kept only where the speech
    model and transcription options are unchanged (its fingerprint; a new LLM polishes it
    again). Corrected paragraphs are not replaced unless ``replace_corrections``."""
    if document.status != Status.SUCCESS:
        raise RerunRefused(f"only a SUCCESS document is re-run (this one is {document.status}; "
                           "FAILURE and REVOKED ones are reprocessed)")  # fmt: skip
    if not document.file and not document.source_url:
        raise RerunRefused("the original media is no longer stored (MEDIA_RETENTION_DAYS): it cannot be re-run")
    corrected = document.paragraphs.filter(corrected_at__isnull=False).count()
    if corrected and not replace_corrections:
        raise RerunRefused(f"{corrected} paragraph(s) were corrected by hand and a new transcript would replace "
                           "them; ask again with replace_corrections")  # fmt: skip
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        if not transitions.reset_for_rerun(document.pk, task_id):
            raise RerunRefused("the document changed meanwhile; look at it again")
        _apply(document, plan)
        enqueue_processing(document.pk, task_id, document.priority)


def wait_until_finished(
    ids: list[int],
    *,
    timeout: float | None = None,
    poll: float = 0.5,
    on_poll: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[Document]:
    """Poll the database (the source of truth) until every document is terminal (a deleted one
    counts as finished); return them with ``paragraph_count``, ordered by id. ``on_poll`` sees each
    unfinished poll's ``{id, status, stage, progress}`` rows. Raises TimeoutError naming the
    states after ``timeout`` seconds (0: after one look; None: no limit). The looks come the
    more often the sooner the documents may finish (every 20 ms at first, 70 ms after 1 s, and
    ``poll`` from about 5 s on), and a document that finishes wakes the wait at once
    (``finish_notice``), so a short file is not kept waiting for the next look."""
    started = time.monotonic()
    deadline = started + timeout if timeout is not None else None
    with finish_notice.Listener() as listener:  # a finishing document ends a sleep at once
        while True:
            rows = list(Document.objects.filter(pk__in=ids).order_by("id").values("id", "status", "stage", "progress"))
            if all(row["status"] in TERMINAL_STATUSES for row in rows):
                return list(Document.objects.with_counts().filter(pk__in=ids).order_by("id"))
            if on_poll is not None:
                on_poll(rows)
            if deadline is not None and time.monotonic() > deadline:
                states = ", ".join(f"{r['id']}: {r['status']} {r['stage']} {r['progress']:.0%}" for r in rows)
                raise TimeoutError(f"documents not finished after {timeout:.0f}s: {states}")
            listener.sleep(min(poll, 0.02 + 0.05 * (time.monotonic() - started)))
