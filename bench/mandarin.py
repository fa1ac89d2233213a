"""Mandarin and English through the whole pipeline with the defaults (no model, no language).

Every Mandarin fixture (tests/fixtures/zh: eight sentences and a 65 s meeting, exact Simplified
references) and every English fixture (tests/fixtures/*_en) is uploaded to one new knowledge base
through ``ingest.create_documents`` with the site's default speech model (``auto``) and processed
by a real Celery worker. For each document it prints the detected language, the model that
transcribed it and the error rate of its paragraphs against the reference: characters (CER, jiwer,
punctuation and spaces removed) for Mandarin, words (WER) for English; and counts the Traditional-only
characters in the Mandarin output (characters that OpenCC's t2s changes).

Last line: ``zh_cer=C traditional_chars=T zh_detected=D/N en_wer=W en_detected=E/M``; targets
zh_cer <= 0.10, traditional_chars = 0, zh_detected = N/N, and en_wer at the English fixtures'
level before (tests assert < 0.25 per clip with tiny.en).

    .venv/bin/python bench/mandarin.py
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import common

FIXTURES = common.ROOT / "tests" / "fixtures"
_NOT_WORD = re.compile(r"[\W_]+")


def zh_references() -> dict[Path, str]:
    rows = (line.split("\t", 1) for line in (FIXTURES / "zh" / "transcripts.tsv").read_text().splitlines() if line)
    return {FIXTURES / "zh" / name: text for name, text in rows}


def en_references() -> dict[Path, str]:
    found = {}
    for text in sorted(FIXTURES.glob("*_en.txt")):
        media = [p for p in FIXTURES.glob(f"{text.stem}.*") if p.suffix != ".txt"]
        if media:
            found[media[0]] = text.read_text().strip()
    return found


def plain_chars(text: str) -> str:
    return _NOT_WORD.sub("", text)


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def main() -> None:
    common.setup_django()
    import jiwer

    from knowledge.chinese_script import simplified
    from knowledge.ingest import create_documents, wait_until_finished
    from knowledge.models import KnowledgeBase, Status
    from stt_models.bundled import ensure_bundled_models
    from stt_models.models import SpeechModel
    from stt_models.registry import resolve_speech_model

    ensure_bundled_models(SpeechModel)
    default = resolve_speech_model(None)
    # a new transcription each time, not the reuse of the last one
    kb = KnowledgeBase.objects.create(name=f"bench-mandarin-{time.time_ns()}", duplicates="again")
    worker = common.start_worker()
    try:
        cases = {
            **{p: ("zh", t) for p, t in zh_references().items()},
            **{p: ("en", t) for p, t in en_references().items()},
        }
        from django.core.files import File

        docs = {}
        for path in cases:
            with open(path, "rb") as fh:
                (doc,) = create_documents(kb, [File(fh, name=path.name)], stt_model=default)
            docs[doc.pk] = path
        started = time.perf_counter()
        finished = wait_until_finished(list(docs), timeout=1800, poll=0.2)
        elapsed = time.perf_counter() - started
        zh_refs, zh_hyps, en_refs, en_hyps = [], [], [], []
        traditional = zh_detected = en_detected = 0
        for doc in finished:
            path = docs[doc.pk]
            language, reference = cases[path]
            if doc.status != Status.SUCCESS:
                raise SystemExit(f"{path.name}: {doc.status} {doc.error}")
            text = (
                "".join(p.content for p in doc.paragraphs.order_by("position"))
                if language == "zh"
                else " ".join(p.content for p in doc.paragraphs.order_by("position"))
            )
            used = doc.stt_model_used.name if doc.stt_model_used else "?"
            if language == "zh":
                hyp = plain_chars(text)
                changed = sum(a != b for a, b in zip(hyp, simplified(hyp), strict=False))
                traditional += changed
                zh_detected += doc.detected_language == "zh"
                zh_refs.append(plain_chars(reference))
                zh_hyps.append(hyp)
                error = jiwer.cer(plain_chars(reference), hyp or "-")
                print(f"{path.name}: detected={doc.detected_language} model={used} cer={error:.3f} "
                      f"traditional={changed} {text[:60]!r}", file=sys.stderr)  # fmt: skip
            else:
                en_detected += doc.detected_language == "en"
                en_refs.append(words(reference))
                en_hyps.append(words(text) or "-")
                error = jiwer.wer(words(reference), words(text) or "-")
                print(f"{path.name}: detected={doc.detected_language} model={used} wer={error:.3f}", file=sys.stderr)
        print(f"all {len(finished)} documents in {elapsed:.1f} s", file=sys.stderr)
        zh_cer = jiwer.cer(zh_refs, zh_hyps)
        en_wer = jiwer.wer(en_refs, en_hyps)
        print(f"zh_cer={zh_cer:.3f} traditional_chars={traditional} zh_detected={zh_detected}/{len(zh_refs)} "
              f"en_wer={en_wer:.3f} en_detected={en_detected}/{len(en_refs)}")  # fmt: skip
    finally:
        common.stop_worker(worker)
        common.clean_up(kb)


if __name__ == "__main__":
    main()
