"""Pipeline overhead: the full ingest path versus bare faster-whisper on the same ~60 s file.

The full path is: store the upload, enqueue through the broker, a real Celery worker process
(warm, as in production) claims the document, decodes, transcribes, splits, embeds, indexes in
PostgreSQL and marks SUCCESS; the wall time runs until SUCCESS is visible in the database.
Bare is ``WhisperModel.transcribe`` with the same model and settings (int8, beam 5, VAD,
same cpu_threads), model already loaded. Speaker diarization is off for the pipeline
(``diarize=off``): bare does not find speakers, and auto would for this 65 s file
(DIARIZE_MIN_SECONDS, 60 s; bench/diarization.py measures that). Runs alternate; the last line is the ratio of the
medians (target: at most 1.15).

    .venv/bin/python bench/pipeline_overhead.py [--runs 5] [--file tests/fixtures/lecture_60s_en.mp3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import common

SAME_WORK = {"diarize": "off", "language": "en"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--file", default=str(common.ROOT / "tests/fixtures/lecture_60s_en.mp3"))
    args = parser.parse_args()
    common.setup_django()
    from django.conf import settings

    from knowledge.models import KnowledgeBase, ProcessingRun
    from stt_models.providers.faster_whisper import load_model
    from stt_models.registry import resolve_speech_model

    model = resolve_speech_model("bundled-tiny-en")
    threads = int(model.options.get("cpu_threads", settings.STT_CPU_THREADS))
    media = Path(args.file)
    # a new transcription each time, not the reuse of the last one
    kb, _ = KnowledgeBase.objects.get_or_create(name=f"bench-{os.getpid()}", defaults={"duplicates": "again"})
    whisper = load_model(model.model, model.device, model.compute_type, threads)

    def bare_once() -> float:
        started = time.perf_counter()
        segments, _ = whisper.transcribe(
            str(media), beam_size=5, vad_filter=True, language="en", condition_on_previous_text=False
        )  # the pipeline's default
        list(segments)
        return time.perf_counter() - started

    worker = common.start_worker()
    try:
        common.ingest_and_wait(kb, media, model, SAME_WORK), bare_once()  # warm-up of both paths, not measured
        pipeline_times, bare_times = [], []
        for i in range(args.runs):
            pipeline_times.append(common.ingest_and_wait(kb, media, model, SAME_WORK))
            bare_times.append(bare_once())
            run = ProcessingRun.objects.filter(document__knowledge_base=kb).order_by("-id").first()
            stages = " ".join(f"{k} {v:.2f}" for k, v in run.timings.items())
            print(f"run {i + 1}: pipeline {pipeline_times[-1]:.2f}s (worker: {stages})  "
                  f"bare faster-whisper {bare_times[-1]:.2f}s")  # fmt: skip
    finally:
        common.stop_worker(worker)
        common.clean_up(kb)
    pipeline, bare = statistics.median(pipeline_times), statistics.median(bare_times)
    print(f"file {media.name}, model {model.name}, cpu_threads {threads}, beam 5, vad on, int8")
    print(f"median pipeline {pipeline:.2f}s, median bare {bare:.2f}s")
    print(f"pipeline/bare wall-time ratio: {pipeline / bare:.3f}")


if __name__ == "__main__":
    main()
