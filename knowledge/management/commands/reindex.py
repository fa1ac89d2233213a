"""manage.py reindex [--knowledge NAME [--owner USER]] [--model NAME] [--all]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knowledge import embeddings, english_vectors, selection
from knowledge.kb_embedding import EmbeddingMismatch
from knowledge.models import KnowledgeBase
from knowledge.reindex import needs_reindex, reindex_knowledge_base
from knowledge.selection import SelectionError, knowledge_base_named


class Command(BaseCommand):
    help = (
        "Move knowledge bases to an embedding model (default EMBEDDING_MODEL) without downtime: every paragraph "
        "is re-embedded first, then all are switched at once. English paragraphs without an English vector "
        "(indexed before they were kept) get one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        selection.add_arguments(parser, since=False)
        parser.add_argument("--model", default="", help="the embedding model (default: EMBEDDING_MODEL)")
        parser.add_argument("--all", action="store_true", help="also knowledge bases already on the model")

    def handle(self, *args: str, **opts: object) -> None:
        model = str(opts["model"] or embeddings.model_name())
        bases = KnowledgeBase.objects.order_by("name")
        if opts["knowledge"]:
            try:
                bases = bases.filter(pk=knowledge_base_named(str(opts["knowledge"]), str(opts["owner"])).pk)
            except SelectionError as exc:
                raise CommandError(str(exc))
        total = 0
        for kb in bases:
            if not opts["all"] and not needs_reindex(kb, model):
                filled = english_vectors.fill_missing(kb.pk, model)
                if filled:
                    self.stdout.write(f"knowledge base {kb.name!r}: {filled} English paragraph(s) given MiniLM vectors")
                continue
            try:
                done = reindex_knowledge_base(kb, model, on_batch=lambda n, kb=kb: self.stderr.write(
                    f"{kb.name}: {n} paragraph(s) embedded"))  # fmt: skip
            except EmbeddingMismatch as exc:
                raise CommandError(str(exc))
            total += done.paragraphs
            self.stdout.write(f"knowledge base {kb.name!r}: {done.paragraphs} paragraph(s) re-embedded with {model} "
                              f"({done.dimensions} dimensions), switched from {done.old_model or 'none'}")  # fmt: skip
        self.stdout.write(f"re-embedded {total} paragraph(s)")
