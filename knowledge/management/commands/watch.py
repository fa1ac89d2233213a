"""manage.py watch: folders and feeds whose new media are ingested into a knowledge base.

    manage.py watch add (--folder PATH | --feed URL) --knowledge NAME [--owner USER] [--model NAME]
                        [--llm NAME] [--language xx] [--option KEY=VALUE]... [--move-to DIR] [--interval S]
    manage.py watch list
    manage.py watch items ID            what a source ingested and skipped, and why
    manage.py watch poll [ID...] [--loop]   look now (all due ones, or these); --loop keeps looking
    manage.py watch remove ID

Beat (the worker started with --beat, or ``make run``) also looks at every due source each
SOURCES_POLL_SECONDS (``knowledge.poll_sources``).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import FieldErrors
from knowledge import fetch, ingest, sources
from knowledge.models import Source, SourceKind
from knowledge.selection import SelectionError, add_processing_arguments, knowledge_base_named, processing_options


class Command(BaseCommand):
    help = "Watch folders and podcast feeds: their new media are ingested into a knowledge base, once each."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="watch a folder or a feed")
        where = add.add_mutually_exclusive_group(required=True)
        where.add_argument("--folder", help="a folder on this machine (a network mount too)")
        where.add_argument("--feed", help="a podcast RSS or Atom feed URL")
        add.add_argument("--knowledge", required=True, help="knowledge base name (created if missing)")
        add.add_argument("--owner", default="", help="the knowledge base's owner (user name)")
        add_processing_arguments(add)
        add.add_argument("--move-to", default="", help="folders: move each ingested file here")
        add.add_argument("--interval", type=int, default=300, help="seconds between looks (default 300)")
        sub.add_parser("list", help="the sources")
        items = sub.add_parser("items", help="what a source ingested and skipped")
        items.add_argument("id", type=int)
        poll = sub.add_parser("poll", help="look at sources now")
        poll.add_argument("ids", type=int, nargs="*")
        poll.add_argument("--loop", action="store_true", help="keep looking at due sources (Ctrl-C stops)")
        remove = sub.add_parser("remove", help="stop watching a source")
        remove.add_argument("id", type=int)

    def handle(self, *args: str, **opts: object) -> None:
        getattr(self, f"_{opts['action']}")(opts)

    def _add(self, opts: dict) -> None:
        try:
            kb = knowledge_base_named(opts["knowledge"], opts["owner"], create=True)
            raw = processing_options(opts)
        except SelectionError as exc:
            raise CommandError(str(exc)) from None
        try:
            plan = ingest.resolve_processing(opts["model"] or None, opts["llm"] or None, raw, knowledge_base=kb)
            if opts["folder"]:
                kind, location = SourceKind.FOLDER, str(sources.allowed_folder(opts["folder"]))
                if opts["move_to"]:
                    sources.allowed_folder(opts["move_to"])
            else:
                kind, location = SourceKind.FEED, opts["feed"]
                fetch.check_url(location)
        except (FieldErrors, sources.SourceError, fetch.FetchError) as exc:
            raise CommandError(str(exc)) from None
        if Source.objects.filter(knowledge_base=kb, kind=kind, location=location).exists():
            raise CommandError(f"knowledge base {kb.name!r} already watches {location}")
        source = Source.objects.create(
            kind=kind, knowledge_base=kb, location=location, stt_model=plan.stt_model if opts["model"] else None,
            llm_model=plan.llm_model, options=raw, move_to=opts["move_to"], interval=max(10, opts["interval"]),
            owner=kb.owner,
        )  # fmt: skip
        self.stdout.write(f"source {source.pk}: watching {kind} {location} for knowledge base {kb.name!r} "
                          f"every {source.interval} s")  # fmt: skip

    def _list(self, opts: dict) -> None:
        for s in Source.objects.select_related("knowledge_base"):
            state = f"error: {s.error}" if s.error else (f"checked {s.checked_at:%Y-%m-%d %H:%M}" if s.checked_at
                                                          else "not checked yet")  # fmt: skip
            self.stdout.write(f"{s.pk}\t{s.kind}\t{s.location}\t-> {s.knowledge_base.name}\t"
                              f"every {s.interval} s\t{s.items.count()} item(s)\t{state}")  # fmt: skip

    def _items(self, opts: dict) -> None:
        source = self._source(opts["id"])
        for item in source.items.all():
            what = f"ingested as document {item.document_id}" if item.ingested else f"skipped: {item.reason}"
            self.stdout.write(f"{item.created_at:%Y-%m-%d %H:%M}\t{item.name}\t{what}")

    def _poll(self, opts: dict) -> None:
        while True:
            chosen = [self._source(i) for i in opts["ids"]] if opts["ids"] else sources.due()
            for source in chosen:
                look = sources.poll(source)
                self.stdout.write(f"source {source.pk} ({source.location}): {len(look.ingested)} queued, "
                                  f"{len(look.skipped)} skipped, {look.waiting} still being written"
                                  + (f"; error: {look.error}" if look.error else ""))  # fmt: skip
                for name, reason in look.skipped:
                    self.stdout.write(f"  skipped {name}: {reason}")
            if not opts["loop"]:
                return
            time.sleep(settings.SOURCES_POLL_SECONDS)

    def _remove(self, opts: dict) -> None:
        source = self._source(opts["id"])
        source.delete()
        self.stdout.write(f"source {opts['id']} removed (its documents stay)")

    @staticmethod
    def _source(pk: int) -> Source:
        source = Source.objects.filter(pk=pk).select_related("knowledge_base").first()
        if source is None:
            raise CommandError(f"no source {pk}")
        return source
