"""manage.py ask --knowledge NAME [--owner USER] [--llm NAME] [--top-k N] [--document ID]... [--speaker NAME]
[--json] "question"

The same answer as ``POST /api/knowledge/{id}/ask/`` (``knowledge.ask.service``), then the
citations with the moments they cite:

    [1] standup.mp3 0:42-1:05 "we take a full snapshot every night at two a.m. ..."
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knowledge.api.ask import answer_body
from knowledge.ask import service
from knowledge.ask.passages import clock
from knowledge.models import AnswerOutcome
from knowledge.selection import SelectionError, knowledge_base_named

QUOTE_CHARS = 100


class Command(BaseCommand):
    help = "Ask a knowledge base a question: an answer from its transcripts, citing the moments it comes from."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("question")
        parser.add_argument("--knowledge", required=True, help="knowledge base name")
        parser.add_argument("--owner", default="", help="the knowledge base's owner, when several share its name")
        parser.add_argument("--llm", default="", help="the LLM (name or id; default: the default LLM)")
        parser.add_argument("--top-k", type=int, default=service.DEFAULT_TOP_K, help="search hits to start from")
        parser.add_argument("--document", type=int, action="append", default=[], help="only this document (id)")
        parser.add_argument("--speaker", default="", help="only what this speaker says (name or label)")
        parser.add_argument("--json", action="store_true", help="print the API's JSON answer instead")

    def handle(self, *args: str, **opts: object) -> None:
        try:
            kb = knowledge_base_named(str(opts["knowledge"]), str(opts["owner"]))
        except SelectionError as exc:
            raise CommandError(str(exc)) from None
        options = {"llm_model": opts["llm"] or None, "top_k": opts["top_k"], "documents": opts["document"] or None,
                   "speaker": " ".join(str(opts["speaker"]).split()) or None}  # fmt: skip
        try:
            result = service.answer(kb, str(opts["question"]), **options)
        except service.AskRefused as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(json.dumps(answer_body(result, None), ensure_ascii=False, indent=2))
        elif result.outcome != AnswerOutcome.FAILED:
            self.stdout.write(result.text)
            self._citations(result)
        if result.outcome == AnswerOutcome.FAILED:
            raise CommandError(f"the LLM did not answer: {result.error}")

    def _citations(self, result: service.Answer) -> None:
        if result.outcome != AnswerOutcome.ANSWERED:
            return
        if result.invalid_citations:
            numbers = ", ".join(str(n) for n in result.invalid_citations)
            self.stderr.write(f"dropped citations of passages the model was not given: {numbers}")
        if not result.citations:
            self.stdout.write("(no citations)")
            return
        self.stdout.write("")
        for passage in result.citations:
            p = passage.paragraph
            quote = " ".join(p.content.split())
            quote = quote if len(quote) <= QUOTE_CHARS else quote[: QUOTE_CHARS - 1] + "…"
            where = "summary" if p.kind == "summary" else f"{clock(p.start)}-{clock(p.end)}"
            if passage.moment is not None and p.kind != "summary":
                where += f" (at {clock(passage.moment)})"
            who = f" {' '.join(p.speaker.split())}:" if p.speaker else ""
            self.stdout.write(f'[{passage.number}] {passage.document_name} {where}{who} "{quote}"')
