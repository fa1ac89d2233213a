"""faster-whisper on a CUDA GPU: sequential decoding against BatchedInferencePipeline.

Run on a machine with an NVIDIA GPU. A long recording is generated from the fixtures
(tests/fixtures/long_media.py), decoded once, and transcribed through the project's own provider
(``stt_models.providers.faster_whisper``) with ``device="cuda"``: first one segment at a time
(``batch_size`` 1), then batched. Each configuration is warmed up once on a short clip, then
timed. The GPU memory in use is sampled (nvidia-smi) while it runs. For each it prints the
seconds, the real-time factor (wall / audio), the word error rate against the reference text and
the peak GPU memory; the timestamps are checked to be monotonic and within the recording.

Last line: ``batched_speedup=S rtf_batched=R wer_sequential=A wer_batched=B`` (S = sequential
seconds / batched seconds of the same model in this run).

    python bench/gpu.py [--minutes 10] [--model bundled:tiny.en] [--batch-sizes 8,16]
        [--compute-type float16] [--cpu]   # --cpu adds an int8 CPU run for comparison

Nothing here needs PostgreSQL or Redis: Django is configured with the few settings the provider
reads.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class GpuMemory(threading.Thread):
    """Peak ``memory.used`` of GPU 0 in MiB, read from nvidia-smi every 200 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.running = True

    def read(self) -> int:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return int(out.stdout.strip() or 0)

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.read())
            time.sleep(0.2)


def configure(tmp: Path) -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(GPU_TRANSCRIPTIONS_PER_DEVICE=1, VAR_DIR=tmp, MODELS_DIR=tmp / "models")


def run_one(provider, audio: np.ndarray, reference: str, seconds: float) -> dict:
    from tests.conftest import word_error_rate

    memory = GpuMemory()
    baseline = memory.read()
    memory.start()
    started = time.perf_counter()
    transcript = provider.transcribe(audio, {})
    elapsed = time.perf_counter() - started
    memory.running = False
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts), "timestamps are not monotonic"
    assert transcript.segments and transcript.segments[-1].end <= seconds + 1.0, "a segment ends after the media"
    text = " ".join(s.text for s in transcript.segments)
    return {
        "seconds": elapsed,
        "rtf": elapsed / seconds,
        "wer": word_error_rate(reference, text),
        "segments": len(transcript.segments),
        "gpu_mib": max(0, memory.peak - baseline) if provider.device == "cuda" else 0,
        "text": text,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--model", default="bundled:tiny.en")
    parser.add_argument("--compute-type", default="float16")
    parser.add_argument("--batch-sizes", default="8,16")
    parser.add_argument("--cpu", action="store_true", help="also time int8 on the CPU")
    parser.add_argument("--dump", type=Path, help="write each configuration's transcript to this folder")
    args = parser.parse_args()

    import ctranslate2

    if ctranslate2.get_cuda_device_count() < 1:
        raise SystemExit("no CUDA device visible to CTranslate2 (see docs/deployment.md, GPU workers)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        configure(tmp)
        from media_learning.pipeline.decode import iter_audio
        from stt_models.providers.faster_whisper import FasterWhisperProvider
        from tests.fixtures.long_media import build_long_speech

        media = tmp / "speech.mp3"
        seconds, reference = build_long_speech(media, args.minutes)
        audio = np.concatenate(list(iter_audio(media)))
        warm = audio[: 16000 * 30]
        print(f"ctranslate2 {ctranslate2.__version__}, CUDA devices: {ctranslate2.get_cuda_device_count()}, "
              f"compute types: {sorted(ctranslate2.get_supported_compute_types('cuda'))}")  # fmt: skip
        print(f"media: {seconds / 60:.1f} min generated speech, model {args.model}, {args.compute_type}")

        configs = [("cuda", args.compute_type, 1)]
        configs += [("cuda", args.compute_type, int(b)) for b in args.batch_sizes.split(",") if b]
        if args.cpu:
            configs.append(("cpu", "int8", 1))
        results = {}
        for device, compute_type, batch_size in configs:
            options = {"batch_size": batch_size} if batch_size > 1 else {}
            provider = FasterWhisperProvider(model=args.model, device=device, compute_type=compute_type,
                                             options=options, default_cpu_threads=8)  # fmt: skip
            provider.transcribe(warm, {})  # load and warm up
            result = run_one(provider, audio, reference, seconds)
            results[(device, batch_size)] = result
            if args.dump:
                args.dump.mkdir(parents=True, exist_ok=True)
                (args.dump / f"{device}-{compute_type}-b{batch_size}.txt").write_text(result["text"])
                (args.dump / "reference.txt").write_text(reference)
            print(f"{device} {compute_type} batch_size={batch_size}: {result['seconds']:.1f} s, "
                  f"rtf={result['rtf']:.4f}, wer={result['wer']:.4f}, segments={result['segments']}, "
                  f"gpu_mib={result['gpu_mib']}")  # fmt: skip

        # `manage.py stt_models unload` (and the worker's remote-control command) call unload_all:
        # check that it gives the GPU memory back.
        import gc

        from stt_models.providers.faster_whisper import unload_all

        gc.collect()
        held = GpuMemory().read()
        dropped = unload_all()
        gc.collect()
        time.sleep(1.0)
        print(f"unload: {dropped} model(s) dropped, GPU memory in use {held} MiB -> {GpuMemory().read()} MiB")

        sequential = results[("cuda", 1)]
        best = min((r for (d, b), r in results.items() if d == "cuda" and b > 1), key=lambda r: r["seconds"],
                   default=sequential)  # fmt: skip
        print(f"batched_speedup={sequential['seconds'] / best['seconds']:.2f} rtf_batched={best['rtf']:.4f} "
              f"wer_sequential={sequential['wer']:.4f} wer_batched={best['wer']:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
