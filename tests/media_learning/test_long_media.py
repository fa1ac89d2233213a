"""A 10+ minute generated recording through the segmented pipeline, compared with transcribing
the same audio in one piece."""

import numpy as np
import pytest
from django.core.files.base import ContentFile

from knowledge.models import Document, KnowledgeBase, Status
from media_learning.models import TranscriptChunk
from media_learning.pipeline import runner
from media_learning.pipeline.decode import iter_audio
from media_learning.pipeline.transcribe import load_transcript
from stt_models.registry import get_provider
from tests.conftest import word_error_rate
from tests.factories import DocumentFactory
from tests.fixtures.long_media import build_long_speech

pytestmark = pytest.mark.slow


def test_long_media_segmented_matches_one_piece(speech_models, tmp_path):
    path = tmp_path / "long.mp3"
    seconds, reference = build_long_speech(path, minutes=10)
    kb = KnowledgeBase.objects.create(name="long")
    # The product default segment_duration (300 s): two cuts in ten minutes.
    doc = DocumentFactory.build(knowledge_base=kb, name="long.mp3", task_id="t-long")
    doc.file.save("long.mp3", ContentFile(path.read_bytes()), save=True)

    assert runner.run(doc.pk, "t-long") == Status.SUCCESS, Document.objects.get(pk=doc.pk).error
    segmented = load_transcript(doc)
    whole = get_provider(speech_models["bundled-tiny-en"]).transcribe(np.concatenate(list(iter_audio(path))), {})

    assert seconds >= 600
    assert TranscriptChunk.objects.filter(document=doc).count() == 3
    times = [t for s in segmented.segments for t in (s.start, s.end)]
    assert times == sorted(times)
    assert abs(segmented.segments[-1].end - seconds) <= 0.02 * seconds
    wer_segmented = word_error_rate(reference, " ".join(s.text for s in segmented.segments))
    wer_whole = word_error_rate(reference, " ".join(s.text for s in whole.segments))
    print(f"WER segmented {wer_segmented:.4f}, one piece {wer_whole:.4f}")
    assert wer_segmented <= wer_whole + 0.02
    assert wer_segmented < 0.15
    doc = Document.objects.get(pk=doc.pk)
    assert doc.duration == pytest.approx(seconds, abs=0.1) and doc.paragraphs.count() >= 20
