"""Peers: the service as ``make run`` runs it against bare faster-whisper, same files, one sitting.

Both sides use the same whisper tiny.en CTranslate2 weights (``bundled-tiny-en``), int8 on the
CPU, beam 5, VAD on, English, ``condition_on_previous_text`` off (the service's default for
faster-whisper), each warmed with one file first. Bare is ``WhisperModel.transcribe`` in this
process from the file on disk, with the threads a lone transcription gets by default
(``STT_CPU_THREADS``), the files one after another. The service is ``manage.py serve`` (what
``make run`` starts, with its defaults) in a private ``VAR_DIR`` and port; a job is timed from
the upload's first byte to the last transcript fetched (``POST ...?wait`` then
``GET .../transcript/?format=txt`` for each document):

- single: the 12 s ``jupiter_en.mp3``, three runs each, alternating; medians;
- batch: twelve short clips (9-13 s, cut from the fixtures) in one upload, against bare's
  sequential time over the same twelve; three runs each; medians;
- long: a 6 minute recording built from the fixtures, one run each (bare first);
- memory: the PSS of every process the service runs (web server, workers, PostgreSQL and
  Redis), idle after the warm-up and the peak sampled during the batch.

Words: the service's transcript is compared with bare's for each file (WER between the two:
what the service changes), and both with the reference text of the long recording.

Last line: ``single=R batch=R long=R pss_idle_mib=M pss_batch_mib=M wer_vs_bare=W`` (ratios are
service/bare; targets single <= 1.10, batch <= 0.95, long <= 0.8, pss_batch_mib <= 1536).

    .venv/bin/python bench/peers.py [--runs 3] [--long-minutes 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import common
import numpy as np
from common import wer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests/fixtures"
RATE = 16000
SETTINGS = {"beam_size": 5, "vad_filter": True, "language": "en", "condition_on_previous_text": False}


def short_clips(folder: Path) -> list[Path]:
    """Twelve different short recordings: the two short fixtures and ten cuts of the lecture."""
    from faster_whisper import decode_audio

    from tests.fixtures.long_media import write_mp3

    lecture = decode_audio(str(FIXTURES / "lecture_60s_en.mp3"))
    clips = [FIXTURES / "jupiter_en.mp3", FIXTURES / "bread_en.mp4"]
    for n, start in enumerate([0, 13, 26, 39, 52, 6.5, 19.5, 32.5, 45.5, 3]):
        piece = lecture[int(start * RATE) : int((start + (9 if start == 3 else 12.5)) * RATE)]
        clips.append(write_mp3(folder / f"clip{n:02d}.mp3", piece))
    return clips


class Bare:
    def __init__(self) -> None:
        sys.path.insert(0, str(ROOT))
        from faster_whisper import WhisperModel

        from stt_models.bundled import resolve_model

        self.threads = int(os.environ.get("STT_CPU_THREADS", min(4, os.cpu_count() or 1)))
        self.model = WhisperModel(resolve_model("bundled:tiny.en"), device="cpu", compute_type="int8",
                                  cpu_threads=self.threads)  # fmt: skip

    def transcribe(self, path: Path) -> str:
        segments, _ = self.model.transcribe(str(path), **SETTINGS)
        return " ".join(s.text.strip() for s in segments)

    def timed(self, paths: list[Path]) -> tuple[float, list[str]]:
        started = time.perf_counter()
        texts = [self.transcribe(p) for p in paths]
        return time.perf_counter() - started, texts


class Service(common.Service):
    """``manage.py serve`` with a knowledge base for the runs."""

    def __init__(self, var: Path) -> None:
        super().__init__(var)
        self.kb = self.new_knowledge_base("peers")

    def run(self, paths: list[Path]) -> tuple[float, list[str]]:
        started = time.perf_counter()
        files = [("file", (p.name, p.read_bytes())) for p in paths]
        data = {"stt_model_id": "bundled-tiny-en", "language": "en", "diarize": "off"}
        answer = self.http.post(f"/api/knowledge/{self.kb}/document/?wait=300", files=files, data=data)
        if answer.status_code != 200:
            raise SystemExit(f"upload answered {answer.status_code}: {answer.text[:300]}")
        texts = []
        for doc in answer.json()["documents"]:
            if doc["status"] != "SUCCESS":
                raise SystemExit(f"{doc['name']}: {doc['status']} {doc.get('error')}")
            texts.append(self.http.get(f"/api/knowledge/document/{doc['id']}/transcript/?format=txt").text)
        elapsed = time.perf_counter() - started
        self.last_run = self.http.get(f"/api/knowledge/document/{doc['id']}/").json()["runs"][-1]
        return elapsed, texts


class PeakPss(threading.Thread):
    def __init__(self, service: Service) -> None:
        super().__init__(daemon=True)
        self.service, self.peak, self.running, self.active = service, 0, True, False

    def run(self) -> None:
        while self.running:
            if self.active:
                self.peak = max(self.peak, self.service.pss())
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--long-minutes", type=float, default=6)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.fixtures.long_media import build_long_speech

    mib = 1024**2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        single = FIXTURES / "jupiter_en.mp3"
        batch = short_clips(folder)
        long_path = folder / "six_minutes.mp3"
        long_seconds, long_reference = build_long_speech(long_path, args.long_minutes)
        bare = Bare()
        bare.timed([single])
        service = Service(folder / "var")
        try:
            service.run([single])  # the warm-up of the service
            time.sleep(3)
            by_process = service.pss_by_process()
            idle = sum(by_process.values())
            print(f"service processes: {len(by_process)}, PSS idle {idle / mib:.0f} MiB:")
            for name, pss in sorted(by_process.items(), key=lambda item: -item[1]):
                print(f"  {pss / mib:6.0f} MiB  {name}")
            print(f"bare faster-whisper: cpu_threads {bare.threads}; settings {SETTINGS}")
            mismatch: list[float] = []
            times: dict[str, tuple[list[float], list[float]]] = {"single": ([], []), "batch": ([], [])}
            peak = PeakPss(service)
            peak.start()
            for i in range(args.runs):
                for name, paths in (("single", [single]), ("batch", batch)):
                    peak.active = name == "batch"
                    svc, svc_texts = service.run(paths)
                    peak.active = False
                    base, bare_texts = bare.timed(paths)
                    times[name][0].append(svc), times[name][1].append(base)
                    for path, b, s in zip(paths, bare_texts, svc_texts, strict=True):
                        mismatch.append(wer(b, s))
                        if mismatch[-1] > 0.05:  # which file the service heard differently, and how
                            print(f"  {path.name}: WER against bare {mismatch[-1]:.3f}\n    bare:    {b}\n"
                                  f"    service: {' '.join(s.split())}")  # fmt: skip
                    print(f"run {i + 1} {name} ({len(paths)} files): service {svc:.2f} s, bare {base:.2f} s")
                    if name == "single":
                        timings = " ".join(f"{k} {v:.3f}" for k, v in service.last_run["timings"].items())
                        print(f"  its run: {service.last_run['seconds']:.3f} s in the worker ({timings})")
            peak.running = False
            base, (bare_long,) = bare.timed([long_path])
            svc, (svc_long,) = service.run([long_path])
            mismatch.append(wer(bare_long, svc_long))
            print(
                f"long ({long_seconds / 60:.1f} min): service {svc:.2f} s, bare {base:.2f} s; WER against the "
                f"reference: service {wer(long_reference, svc_long):.3f}, bare {wer(long_reference, bare_long):.3f}"
            )
        finally:
            service.stop()
    ratios = {name: statistics.median(s) / statistics.median(b) for name, (s, b) in times.items()}
    for name, (s, b) in times.items():
        print(f"{name}: median service {statistics.median(s):.2f} s, median bare {statistics.median(b):.2f} s")
    print(f"PSS under the batch (peak): {peak.peak / mib:.0f} MiB; mean WER service vs bare {np.mean(mismatch):.3f}")
    print(
        f"single={ratios['single']:.2f} batch={ratios['batch']:.2f} long={svc / base:.2f} "
        f"pss_idle_mib={idle / mib:.0f} pss_batch_mib={peak.peak / mib:.0f} wer_vs_bare={np.mean(mismatch):.3f}"
    )


if __name__ == "__main__":
    main()
