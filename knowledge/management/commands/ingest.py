"""manage.py ingest PATH_OR_URL... --knowledge NAME [--owner USER] [--model NAME] [--llm NAME] [--language xx]
[--priority high|normal|low] [--wait] [--json]"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import FieldErrors
from knowledge.api.serializers import DocumentSerializer, ParagraphSerializer
from knowledge.fetch import FetchError, check_url
from knowledge.ingest import DuplicateMedia, create_documents, resolve_processing, wait_until_finished
from knowledge.models import Document, Status
from knowledge.queue import PRIORITIES
from knowledge.selection import SelectionError, add_processing_arguments, knowledge_base_named, processing_options


def _files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        if raw.startswith(("http://", "https://")):
            continue  # downloaded in handle()
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(f"no such file or folder: {raw}")
    if not found and not any(p.startswith(("http://", "https://")) for p in paths):
        raise CommandError("no files to ingest")
    return found


def document_json(document: Document) -> dict:
    data = dict(DocumentSerializer(document).data)
    data["paragraphs"] = ParagraphSerializer(document.paragraphs.order_by("position"), many=True).data
    return data


class Command(BaseCommand):
    help = "Upload media files into a knowledge base through the same path as the API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="files, folders (read recursively) or http(s) media URLs")
        parser.add_argument("--knowledge", required=True, help="knowledge base name (created if missing)")
        parser.add_argument("--owner", default="", help="the knowledge base's owner (user name): picks it among "
                            "several of that name, and owns it when it is created")  # fmt: skip
        add_processing_arguments(parser)
        parser.add_argument("--priority", choices=PRIORITIES, default="normal", help="queue priority")
        parser.add_argument("--wait", action="store_true", help="wait until every document has finished")
        parser.add_argument("--timeout", type=float, default=0, help="with --wait: give up after N seconds")
        parser.add_argument("--json", action="store_true", help="print the documents (and paragraphs) as JSON")

    def handle(self, *args: str, **opts: object) -> None:
        files = _files(opts["paths"])
        try:  # an existing knowledge base's defaults apply (speech model, language)
            existing = knowledge_base_named(str(opts["knowledge"]), str(opts["owner"]), create=False)
        except SelectionError:
            existing = None  # made below, once the options are known to be good
        try:
            plan = resolve_processing(opts["model"], opts["llm"], processing_options(opts), knowledge_base=existing)
        except (FieldErrors, SelectionError) as exc:
            raise CommandError(str(exc))
        urls = [p for p in opts["paths"] if p.startswith(("http://", "https://"))]
        try:
            for url in urls:  # refused at once; a worker downloads them (stage fetching)
                check_url(url)
        except FetchError as exc:
            raise CommandError(str(exc))
        try:
            kb = knowledge_base_named(str(opts["knowledge"]), str(opts["owner"]), create=True)
        except SelectionError as exc:
            raise CommandError(str(exc))
        handles: list[File] = [File(open(path, "rb"), name=path.name) for path in files]
        try:
            docs = create_documents(kb, handles, urls=urls, stt_model=plan.stt_model, llm_model=plan.llm_model,
                                    options=plan.options, llm_options=plan.llm_options,
                                    priority=opts["priority"])  # fmt: skip
        except DuplicateMedia as exc:
            raise CommandError(str(exc)) from None
        finally:
            for fh in handles:
                fh.close()
        ids = [d.pk for d in docs]
        if not opts["json"]:
            for doc in docs:
                self.stdout.write(f"queued document {doc.pk}: {doc.name}")
        if opts["wait"]:
            self._wait(ids, float(opts["timeout"] or 0), quiet=bool(opts["json"]))
        documents = list(Document.objects.with_counts().filter(pk__in=ids).order_by("id"))
        if opts["json"]:
            self.stdout.write(json.dumps([document_json(d) for d in documents], indent=2, ensure_ascii=False))
        elif opts["wait"]:
            for doc in documents:
                line = f"document {doc.pk} {doc.status}: {doc.name}"
                self.stdout.write(line + (f" ({doc.error})" if doc.error else ""))
        if opts["wait"] and any(d.status != Status.SUCCESS for d in documents):
            sys.exit(1)

    def _wait(self, ids: list[int], timeout: float, quiet: bool) -> None:
        last = None

        def show(rows: list[dict]) -> None:
            nonlocal last
            summary = ", ".join(
                f"{r['status']}{'/' + r['stage'] if r['stage'] else ''} {r['progress']:.0%}" for r in rows
            )
            if not quiet and summary != last:
                self.stderr.write(summary)
                last = summary

        try:
            wait_until_finished(ids, timeout=timeout or None, on_poll=show)
        except TimeoutError as exc:
            raise CommandError(str(exc))
