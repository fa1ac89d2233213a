"""Long media: peak memory of a worker transcribing a generated 60 min recording.

A 60 min speech file is built from the fixtures (tests/fixtures/long_media.py), ingested
through the full pipeline into a real Celery worker process (tiny model), and the resident
memory of the worker's whole process tree is sampled every 100 ms until the document is
SUCCESS. The worker is the one ``make run`` starts (one process, a threads pool of two, a
one-thread speech-model replica per thread), or with ``--pool prefork`` one process with one
pool child. Speakers are found as for any upload over DIARIZE_MIN_SECONDS (``--diarize off``:
not). The transcript's word error rate against the clips' own texts is printed too. Last line:
``peak_rss_mib=M rtf=R wer=W`` (target: M under 1024 with the tiny model); rtf = wall time
from upload to SUCCESS / media duration.

    .venv/bin/python bench/long_media.py [--minutes 60] [--pool threads|prefork] [--diarize auto|off]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import common
import psutil


class PeakRss(threading.Thread):
    """The peak RSS of a process tree, also per stage of the document being watched (read
    every second)."""

    def __init__(self, pid: int, kb_name: str) -> None:
        super().__init__(daemon=True)
        self.kb_name = kb_name
        self.root = psutil.Process(pid)
        self.peak = 0
        self.by_stage: dict[str, int] = {}
        self.document_id: int | None = None
        self.running = True

    def sample(self) -> int:
        total = 0
        for proc in [self.root, *self.root.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def run(self) -> None:
        from django.db import connection

        from knowledge.models import Document

        stage, looked = "", 0.0
        try:
            while self.running:
                rss = self.sample()
                self.peak = max(self.peak, rss)
                if self.document_id is None:
                    found = Document.objects.filter(knowledge_base__name=self.kb_name).order_by("-id").first()
                    self.document_id = found.pk if found else None
                if self.document_id is not None and time.monotonic() - looked > 1.0:
                    stage = Document.objects.filter(pk=self.document_id).values_list("stage", flat=True).first() or ""
                    looked = time.monotonic()
                self.by_stage[stage] = max(self.by_stage.get(stage, 0), rss)
                time.sleep(0.1)
        finally:
            connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--pool", choices=("threads", "prefork"), default="threads")
    parser.add_argument("--concurrency", type=int, default=0, help="default: serve's (threads) or 1 (prefork)")
    parser.add_argument("--diarize", choices=("auto", "off"), default="auto",
                        help="auto: speakers are found, as for any upload over DIARIZE_MIN_SECONDS")  # fmt: skip
    args = parser.parse_args()
    common.setup_django()
    from knowledge.models import KnowledgeBase, Paragraph, ParagraphKind
    from media_learning.management.commands.serve import default_concurrency
    from stt_models.diarization import voices
    from stt_models.registry import resolve_speech_model
    from tests.fixtures.long_media import build_long_speech

    model = resolve_speech_model("bundled-tiny-en")
    # a new transcription each time, not the reuse of the last one
    kb, _ = KnowledgeBase.objects.get_or_create(name=f"bench-long-{os.getpid()}", defaults={"duplicates": "again"})
    with tempfile.TemporaryDirectory() as tmp:
        media = Path(tmp) / f"speech_{args.minutes:g}min.mp3"
        seconds, reference = build_long_speech(media, args.minutes)
        print(f"generated {media.name}: {seconds / 60:.1f} min, {media.stat().st_size / 2**20:.1f} MiB")
        if args.diarize != "off":  # as manage.py bootstrap (make run) does: the worker finds the export
            print(f"speaker model: {voices.prepare()}")
        concurrency = args.concurrency or (default_concurrency() if args.pool == "threads" else 1)
        worker = common.start_worker(pool=args.pool, concurrency=concurrency)
        print(f"worker: {args.pool} pool, concurrency {concurrency}; diarize {args.diarize}")
        monitor = PeakRss(worker.pid, kb.name)
        try:
            idle = monitor.sample()
            monitor.start()
            elapsed = common.ingest_and_wait(kb, media, model, {"diarize": args.diarize})
            monitor.running = False
            monitor.join()
            texts = Paragraph.objects.filter(knowledge_base=kb, kind=ParagraphKind.TRANSCRIPT).order_by(
                "document_id", "position"
            )
            error = common.wer(reference, " ".join(texts.values_list("content", flat=True)))
        finally:
            common.stop_worker(worker)
            common.clean_up(kb)
    print(f"worker tree RSS: when ready {idle / 2**20:.0f} MiB, peak {monitor.peak / 2**20:.0f} MiB")
    stages = ", ".join(f"{stage or 'queued'} {rss / 2**20:.0f}" for stage, rss in monitor.by_stage.items())
    print(f"peak RSS by stage (MiB): {stages}")
    print(f"{seconds:.0f} s of audio processed in {elapsed:.1f} s")
    print(f"peak_rss_mib={monitor.peak / 2**20:.0f} rtf={elapsed / seconds:.3f} wer={error:.3f}")


if __name__ == "__main__":
    main()
