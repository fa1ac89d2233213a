"""Export a knowledge base to one archive, and import it into another installation.

The archive is a zip file:

- ``manifest.json``: ``{"format": "media-knowledge-base", "version": 1, "exported_at", "knowledge_base":
  {...settings...}, "counts": {...}, "media": true|false}``
- ``documents.jsonl``: one finished document a line (its ``key`` is its id in the exporting
  installation; ``media`` names its file inside the archive, or is null)
- ``paragraphs.jsonl``: ``{document, position, kind, content, raw_content, start, end, cues,
  embedding_model, embedding, corrected_at}`` (vectors as lists of floats; ``cues``, the
  ``[start, end, text]`` of each segment, may be missing in archives written before it)
- ``transcripts.jsonl``: the stored transcript chunks (segments with their times and words)
- ``runs.jsonl`` and ``revisions.jsonl``: every processing run, every correction
- ``media/<key>/<name>``: the original files, when exported with media

An import checks the format and version first (an archive from a newer version is refused with
the reason), reads every line as data (names are cleaned, nothing in the archive is ever a path
here), stays within size limits, and writes everything in one transaction: a corrupted archive
creates nothing. Vectors are kept when the archive's embedding model is registered here with
the same dimensions, else the paragraphs are embedded again.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import UserError
from knowledge import embeddings, vector_index
from knowledge.chinese_script import SCRIPTS
from knowledge.ingest import stored_name
from knowledge.models import (
    Document,
    KnowledgeBase,
    Paragraph,
    ParagraphRevision,
    ProcessingRun,
    RunOutcome,
    Status,
)
from knowledge.names import clean_file_name, clean_name
from llm_models.options import LLM_OPTION_NAMES, without_llm_options
from media_learning.models import TranscriptChunk
from media_learning.pipeline import index
from media_learning.pipeline.split import ParagraphDraft
from stt_models.models import SpeechModel

FORMAT = "media-knowledge-base"
VERSION = 1
MAX_UNCOMPRESSED = 20 * 1024**3  # bytes, all members together (a zip bomb stops here)
MAX_LINE = 64 * 1024**2  # bytes of one JSON line
KB_FIELDS = ("name", "description", "language", "script", "duplicates", "embedding_model", "embedding_dimensions")
DOC_FIELDS = ("name", "sha256", "size", "mime", "duration", "language", "detected_language", "warnings", "summary",
              "options", "llm_options", "llm_usage", "source_url", "created_at")  # fmt: skip


class ArchiveError(UserError):
    """The archive cannot be imported: a one-line reason."""

    code = "bad_archive"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _line(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def export(knowledge_base: KnowledgeBase, out: IO[bytes], *, media: bool = False) -> dict[str, int]:
    """Write ``knowledge_base``'s finished documents to ``out`` as an archive; returns the counts."""
    knowledge_base = KnowledgeBase.objects.get(pk=knowledge_base.pk)  # its model as indexing fixed it
    documents = list(knowledge_base.documents.filter(status=Status.SUCCESS).select_related(
        "stt_model", "stt_model_used", "llm_model").order_by("id"))  # fmt: skip
    counts = {"documents": 0, "paragraphs": 0, "transcript_chunks": 0, "runs": 0, "revisions": 0, "media": 0}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        with zf.open("documents.jsonl", "w") as fh:
            for doc in documents:
                row: dict[str, Any] = {f: getattr(doc, f) for f in DOC_FIELDS}
                row["created_at"] = _iso(doc.created_at)
                row.update(key=doc.pk, stt_model=getattr(doc.stt_model, "name", None),
                           stt_model_used=getattr(doc.stt_model_used, "name", None),
                           llm_model=getattr(doc.llm_model, "name", None), media=None)  # fmt: skip
                if media and doc.file:
                    row["media"] = f"media/{doc.pk}/{clean_file_name(Path(doc.file.name).name) or 'media'}"
                fh.write(_line(row))
                counts["documents"] += 1
        with zf.open("paragraphs.jsonl", "w") as fh:
            for p in Paragraph.objects.filter(document__in=documents).order_by("document_id", "position").iterator():
                embedding = None if p.embedding is None else [round(float(x), 7) for x in p.embedding]
                fh.write(_line({"document": p.document_id, "position": p.position, "kind": p.kind, "content": p.content,
                                "raw_content": p.raw_content, "start": p.start, "end": p.end, "cues": p.cues,
                                "embedding_model": p.embedding_model, "embedding": embedding,
                                "corrected_at": _iso(p.corrected_at)}))  # fmt: skip
                counts["paragraphs"] += 1
        with zf.open("transcripts.jsonl", "w") as fh:
            for c in TranscriptChunk.objects.filter(document__in=documents).order_by("document_id", "index").iterator():
                fh.write(_line({"document": c.document_id, "index": c.index, "start": c.start, "end": c.end,
                                "language": c.language, "segments": c.segments,
                                "fingerprint": c.fingerprint}))  # fmt: skip
                counts["transcript_chunks"] += 1
        with zf.open("runs.jsonl", "w") as fh:
            for r in ProcessingRun.objects.filter(document__in=documents).order_by("document_id", "attempt").iterator():
                fh.write(_line({"document": r.document_id, "attempt": r.attempt, "stt_model": r.stt_model,
                                "llm_model": r.llm_model, "started_at": _iso(r.started_at),
                                "finished_at": _iso(r.finished_at), "seconds": r.seconds, "outcome": r.outcome,
                                "error_type": r.error_type, "error": r.error, "timings": r.timings}))  # fmt: skip
                counts["runs"] += 1
        with zf.open("revisions.jsonl", "w") as fh:
            revisions = ParagraphRevision.objects.filter(paragraph__document__in=documents)
            ordered = revisions.select_related("paragraph", "user").order_by(
                "paragraph__document_id", "paragraph__position", "created_at")  # fmt: skip
            for rev in ordered.iterator():
                fh.write(_line({"document": rev.paragraph.document_id, "position": rev.paragraph.position,
                                "previous": rev.previous, "content": rev.content,
                                "user": rev.user.get_username() if rev.user else None,
                                "created_at": _iso(rev.created_at)}))  # fmt: skip
                counts["revisions"] += 1
        if media:
            for doc in documents:
                if doc.file:
                    member = f"media/{doc.pk}/{clean_file_name(Path(doc.file.name).name) or 'media'}"
                    with doc.file.open("rb") as src, zf.open(member, "w") as dst:
                        while chunk := src.read(1024 * 1024):
                            dst.write(chunk)
                    counts["media"] += 1
        settings = {f: getattr(knowledge_base, f) for f in KB_FIELDS}
        manifest = {"format": FORMAT, "version": VERSION, "exported_at": timezone.now().isoformat(),
                    "knowledge_base": settings, "counts": counts, "media": media}  # fmt: skip
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    return counts


@dataclass
class Imported:
    knowledge_base: KnowledgeBase
    counts: dict[str, int]
    reembedded: bool


def _rows(zf: zipfile.ZipFile, name: str) -> Iterator[dict[str, Any]]:
    try:
        fh = zf.open(name)
    except KeyError:
        raise ArchiveError(f"the archive has no {name}") from None
    with fh:
        for number, raw in enumerate(fh, 1):
            if len(raw) > MAX_LINE:
                raise ArchiveError(f"{name} line {number} is over {MAX_LINE // 1024**2} MiB")
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError:
                raise ArchiveError(f"{name} line {number} is not JSON") from None
            if not isinstance(row, dict):
                raise ArchiveError(f"{name} line {number} is not an object")
            yield row


def _open(source: IO[bytes] | str | Path) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ArchiveError(f"not a knowledge-base archive (not a readable zip file: {exc})") from None
    if sum(info.file_size for info in zf.infolist()) > MAX_UNCOMPRESSED:
        raise ArchiveError("the archive unpacks to more than the import limit")
    bad = zf.testzip()
    if bad is not None:
        raise ArchiveError(f"the archive is corrupted ({bad} fails its checksum)")
    return zf


def manifest_of(zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except KeyError:
        raise ArchiveError("not a knowledge-base archive (no manifest.json)") from None
    except ValueError:
        raise ArchiveError("manifest.json is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"not a knowledge-base archive (format is not {FORMAT!r})")
    version = manifest.get("version")
    if not isinstance(version, int) or version < 1:
        raise ArchiveError("the archive's version is missing or not a number")
    if version > VERSION:
        raise ArchiveError(f"the archive is version {version}, from a newer installation; "
                           f"this one reads up to {VERSION}")  # fmt: skip
    if not isinstance(manifest.get("knowledge_base"), dict):
        raise ArchiveError("manifest.json has no knowledge_base")
    return manifest


def _text(value: Any, field: str, where: str, *, blank: bool = True) -> str:
    if value is None and blank:
        return ""
    if not isinstance(value, str) or (not blank and not value.strip()):
        raise ArchiveError(f"{where}: {field} is not text")
    return value


def _number(value: Any, field: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
        raise ArchiveError(f"{where}: {field} is not a number of seconds")
    return float(value)


def _cues(value: Any, where: str) -> list[list]:
    """``[[start, end, text], ...]``; missing (an older archive) is none."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(c, list) and len(c) == 3 for c in value):
        raise ArchiveError(f"{where}: cues are not [start, end, text] lists")
    cues = [[_number(a, "a cue's start", where), _number(b, "a cue's end", where), _text(t, "a cue's text", where)]
            for a, b, t in value]  # fmt: skip
    if any(end < start for start, end, _ in cues):
        raise ArchiveError(f"{where}: a cue ends before it starts")
    return cues


def _when(value: Any) -> datetime | None:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return parsed if parsed is None or parsed.tzinfo else timezone.make_aware(parsed)


def _free_name(owner: Any, wanted: str) -> str:
    name = clean_name(wanted, 200) or "imported"
    candidate, n = name, 1
    while KnowledgeBase.objects.filter(owner=owner, name=candidate).exists():
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def import_archive(source: IO[bytes] | str | Path, *, owner: Any = None, name: str = "") -> Imported:
    """A new knowledge base (owned by ``owner``, named ``name`` or as exported, made unique)
    holding the archive's documents; ArchiveError with the reason, and nothing created, when the
    archive cannot be read."""
    zf = _open(source)
    with zf:
        manifest = manifest_of(zf)
        settings = manifest["knowledge_base"]
        documents = list(_rows(zf, "documents.jsonl"))
        paragraphs: dict[int, list[dict[str, Any]]] = {}
        for row in _rows(zf, "paragraphs.jsonl"):
            paragraphs.setdefault(row.get("document"), []).append(row)
        chunks = list(_rows(zf, "transcripts.jsonl"))
        runs = list(_rows(zf, "runs.jsonl"))
        revisions = list(_rows(zf, "revisions.jsonl"))
        model = settings.get("embedding_model") if isinstance(settings.get("embedding_model"), str) else ""
        keep_vectors = model in embeddings.registered() and settings.get("embedding_dimensions") == (
            embeddings.dimensions(model) if model in embeddings.registered() else None
        )
        target_model = model if keep_vectors else embeddings.model_name()
        script = settings.get("script") if settings.get("script") in dict(SCRIPTS) else KnowledgeBase().script
        stored: list[str] = []
        counts = {"documents": 0, "paragraphs": 0, "transcript_chunks": 0, "runs": 0, "revisions": 0, "media": 0}
        speech = {m.name: m for m in SpeechModel.objects.all()}
        duplicates = settings.get("duplicates")
        duplicates = duplicates if duplicates in ("reuse", "refuse", "again") else "reuse"
        try:
            with transaction.atomic():
                kb = KnowledgeBase.objects.create(
                    name=_free_name(owner, name or _text(settings.get("name"), "name", "manifest") or "imported"),
                    description=_text(settings.get("description"), "description", "manifest"),
                    language=clean_name(_text(settings.get("language"), "language", "manifest"), 16),
                    script=script, owner=owner,
                    duplicates=duplicates,
                )  # fmt: skip
                keys: dict[Any, Document] = {}
                for number, row in enumerate(documents, 1):
                    where = f"documents.jsonl line {number}"
                    doc = _document(kb, owner, row, where, zf, speech, stored)
                    keys[row.get("key")] = doc
                    counts["documents"] += 1
                    counts["media"] += bool(doc.file)
                    counts["paragraphs"] += _index(doc, paragraphs.get(row.get("key"), []), where, keep_vectors,
                                                   target_model)  # fmt: skip
                counts["transcript_chunks"] = _chunks(chunks, keys)
                counts["runs"] = _runs(runs, keys)
                counts["revisions"] = _revisions(revisions, keys)
        except ArchiveError:
            for path in stored:
                default_storage.delete(path)
            raise
        except (KeyError, TypeError, ValueError, zipfile.BadZipFile) as exc:
            for path in stored:
                default_storage.delete(path)
            raise ArchiveError(f"the archive is malformed ({type(exc).__name__}: {exc})") from None
        if counts["paragraphs"]:
            vector_index.ensure_index(target_model, embeddings.dimensions(target_model))
    return Imported(kb, counts, reembedded=not keep_vectors)


def _document(kb: KnowledgeBase, owner: Any, row: dict[str, Any], where: str, zf: zipfile.ZipFile,
              speech: dict[str, SpeechModel], stored: list[str]) -> Document:  # fmt: skip
    """One finished document from its line (every field checked as data), with its media file."""
    doc = Document(knowledge_base=kb, owner=owner, status=Status.SUCCESS, searchable=True, progress=1.0,
                   task_id="imported")  # fmt: skip
    doc.name = clean_name(_text(row.get("name"), "name", where, blank=False)) or "imported"
    sha = _text(row.get("sha256"), "sha256", where)
    doc.sha256 = sha if len(sha) == 64 and all(c in "0123456789abcdef" for c in sha) else ""
    doc.size = row["size"] if isinstance(row.get("size"), int) and row["size"] >= 0 else 0
    doc.mime = clean_name(_text(row.get("mime"), "mime", where), 100)
    if row.get("duration") is not None:
        doc.duration = _number(row["duration"], "duration", where)
    doc.language = clean_name(_text(row.get("language"), "language", where), 16)
    doc.detected_language = clean_name(_text(row.get("detected_language"), "detected_language", where), 16)
    doc.summary = _text(row.get("summary"), "summary", where)
    doc.warnings = [w[:500] for w in row.get("warnings") or [] if isinstance(w, str)][:50]
    options = row["options"] if isinstance(row.get("options"), dict) else {}
    llm_options = row["llm_options"] if isinstance(row.get("llm_options"), dict) else {}
    # Archives written before the LLM's options were stored apart hold them in "options"; each
    # part keeps only its own keys (a re-run checks their values as an upload's).
    doc.options = without_llm_options(options)
    doc.llm_options = {k: v for k, v in {**options, **llm_options}.items() if k in LLM_OPTION_NAMES}
    doc.llm_usage = row["llm_usage"] if isinstance(row.get("llm_usage"), dict) else {}
    doc.stt_model = speech.get(row.get("stt_model"))
    doc.stt_model_used = speech.get(row.get("stt_model_used"))
    member = row.get("media")
    if member is not None:
        if not isinstance(member, str) or member not in zf.namelist():
            raise ArchiveError(f"{where}: its media {member!r} is not in the archive")
        with zf.open(member) as fh:
            doc.file.save(stored_name(clean_file_name(member) or "media"), ContentFile(fh.read()), save=False)
        stored.append(doc.file.name)
    doc.save()
    return doc


def _index(doc: Document, rows: list[dict[str, Any]], where: str, keep_vectors: bool, model: str) -> int:
    """The document's paragraphs, with the archive's vectors or embedded again, and their corrections."""
    drafts, vectors, corrected = _drafts(rows, where, keep_vectors, embeddings.dimensions(model))
    if not drafts:
        return 0
    if keep_vectors:
        vecs = np.vstack(vectors).astype(np.float32)
    else:
        vecs = embeddings.embed([d.content for d in drafts], model)
    index.prepare_index(model, vecs)
    index.replace_paragraphs(doc, drafts, model, vecs)
    for position, when in corrected.items():
        Paragraph.objects.filter(document=doc, position=position).update(corrected_at=when)
    return len(drafts)


Drafts = tuple[list[ParagraphDraft], list[np.ndarray], dict[int, datetime | None]]


def _drafts(rows: list[dict[str, Any]], where: str, keep_vectors: bool, dims: int) -> Drafts:
    drafts, vectors, corrected = [], [], {}
    for row in sorted(rows, key=lambda r: r.get("position") if isinstance(r.get("position"), int) else -1):
        here = f"{where}, paragraph {row.get('position')!r}"
        start, end = _number(row.get("start"), "start", here), _number(row.get("end"), "end", here)
        if end < start:
            raise ArchiveError(f"{here}: it ends before it starts")
        kind = row.get("kind") if row.get("kind") in ("transcript", "summary") else "transcript"
        drafts.append(ParagraphDraft(content=_text(row.get("content"), "content", here, blank=False), start=start,
                                     end=end, raw_content=_text(row.get("raw_content"), "raw_content", here),
                                     kind=kind, cues=_cues(row.get("cues"), here)))  # fmt: skip
        if keep_vectors:
            vector = row.get("embedding")
            if not isinstance(vector, list) or len(vector) != dims:
                raise ArchiveError(f"{here}: its embedding is not {dims} numbers")
            vectors.append(np.asarray(vector, dtype=np.float32))
        if row.get("corrected_at"):
            corrected[len(drafts) - 1] = _when(row["corrected_at"])
    return drafts, vectors, corrected


def _chunks(rows: list[dict[str, Any]], keys: dict[Any, Document]) -> int:
    made = [
        TranscriptChunk(
            document=keys[r["document"]],
            index=int(r["index"]),
            start=float(r["start"]),
            end=float(r["end"]),
            language=clean_name(str(r.get("language") or ""), 16),
            segments=r["segments"] if isinstance(r.get("segments"), list) else [],
            fingerprint=str(r.get("fingerprint") or "")[:64],
            worker="imported",
        )  # fmt: skip
        for r in rows
        if r.get("document") in keys
    ]
    TranscriptChunk.objects.bulk_create(made)
    return len(made)


def _runs(rows: list[dict[str, Any]], keys: dict[Any, Document]) -> int:
    outcomes = set(RunOutcome.values)
    made = []
    for r in rows:
        if r.get("document") not in keys:
            continue
        run = ProcessingRun(document=keys[r["document"]], attempt=int(r["attempt"]), task_id="imported",
                            worker="imported", stt_model=str(r.get("stt_model") or "")[:100],
                            llm_model=str(r.get("llm_model") or "")[:100], finished_at=_when(r.get("finished_at")),
                            seconds=r["seconds"] if isinstance(r.get("seconds"), (int, float)) else None,
                            outcome=r["outcome"] if r.get("outcome") in outcomes else RunOutcome.SUCCESS,
                            error_type=str(r.get("error_type") or "")[:100], error=str(r.get("error") or ""),
                            timings=r["timings"] if isinstance(r.get("timings"), dict) else {})  # fmt: skip
        made.append(run)
    ProcessingRun.objects.bulk_create(made)
    return len(made)


def _revisions(rows: list[dict[str, Any]], keys: dict[Any, Document]) -> int:
    made = 0
    for r in rows:
        doc = keys.get(r.get("document"))
        paragraph = doc.paragraphs.filter(position=r.get("position")).first() if doc else None
        if paragraph is None:
            continue
        ParagraphRevision.objects.create(paragraph=paragraph, previous=str(r.get("previous") or ""),
                                         content=str(r.get("content") or ""))  # fmt: skip
        made += 1
    return made
