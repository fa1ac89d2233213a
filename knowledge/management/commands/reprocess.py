"""manage.py reprocess (--document ID... | --knowledge NAME [--owner USER]) [--model NAME] [--llm NAME|none]
[--language xx] [--option KEY=VALUE]... [--replace-corrections] [--dry-run]

Process documents again through the same functions as the API's reprocess: a SUCCESS document is
re-run (its paragraphs stay searchable until the new ones replace them), a FAILURE or REVOKED one
is queued again; what is named replaces the document's own model or option.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import FieldErrors
from knowledge import ingest
from knowledge.models import Document, Status
from knowledge.selection import SelectionError, add_processing_arguments, knowledge_base_named, processing_options


class Command(BaseCommand):
    help = "Process documents again, with another speech model, language, options or LLM if named."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--document", type=int, action="append", default=[], help="a document id (repeatable)")
        parser.add_argument("--knowledge", default="", help="every document of this knowledge base")
        parser.add_argument("--owner", default="", help="the knowledge base's owner, when several share its name")
        add_processing_arguments(parser)
        parser.add_argument("--replace-corrections", action="store_true", help="re-run even over corrected paragraphs")
        parser.add_argument("--dry-run", action="store_true", help="say what would be done")

    def handle(self, *args: str, **opts: object) -> None:
        documents = Document.objects.select_related("knowledge_base").order_by("id")
        if opts["document"]:
            documents = documents.filter(pk__in=opts["document"])
        elif opts["knowledge"]:
            try:
                documents = documents.filter(knowledge_base=knowledge_base_named(str(opts["knowledge"]),
                                                                                 str(opts["owner"])))  # fmt: skip
            except SelectionError as exc:
                raise CommandError(str(exc)) from None
        else:
            raise CommandError("name the documents: --document ID or --knowledge NAME")
        try:
            changes: dict[str, object] = dict(processing_options(opts))
        except SelectionError as exc:
            raise CommandError(str(exc)) from None
        llm = str(opts["llm"])
        done = 0
        for doc in documents:
            if doc.status not in (Status.SUCCESS, Status.FAILURE, Status.REVOKED):
                self.stdout.write(f"document {doc.pk} ({doc.name}): skipped, it is {doc.status}")
                continue
            try:
                plan = ingest.plan_for(doc, opts["model"] or None, None if llm in ("", "none") else llm, changes,
                                       keep_llm=llm != "none")  # fmt: skip
                if opts["dry_run"]:
                    self.stdout.write(f"document {doc.pk} ({doc.name}): would run with {plan.stt_model.name}")
                    continue
                if doc.status == Status.SUCCESS:
                    ingest.rerun(doc, plan, replace_corrections=bool(opts["replace_corrections"]))
                elif not ingest.reprocess(doc, plan):
                    raise ingest.RerunRefused(f"it is {doc.status} now")
            except (FieldErrors, ingest.RerunRefused) as exc:
                self.stderr.write(f"document {doc.pk} ({doc.name}): not queued: {exc}")
                continue
            done += 1
            self.stdout.write(f"document {doc.pk} ({doc.name}): queued with {plan.stt_model.name}")
        self.stdout.write(f"queued {done} document(s)")
