"""The pipeline runner as a plain function (no broker): what the Celery task calls."""

import ctranslate2
import pytest
from django.core.files.base import ContentFile

from knowledge.models import Document, KnowledgeBase, Status
from media_learning.pipeline import runner
from stt_models.models import SpeechModel
from tests.conftest import fixture_path
from tests.factories import DocumentFactory

HAS_CUDA = ctranslate2.get_cuda_device_count() > 0


def make_document(name, data, model=None, **fields):
    kb, _ = KnowledgeBase.objects.get_or_create(name="runner")
    doc = DocumentFactory.build(knowledge_base=kb, name=name, task_id="t-1", stt_model=model, **fields)
    doc.file.save(name, ContentFile(data), save=True)
    return doc


def test_run_takes_pending_document_to_success_with_timestamped_paragraphs(speech_models):
    doc = make_document("jupiter.mp3", fixture_path("jupiter_en.mp3").read_bytes())

    assert runner.run(doc.pk, "t-1") == Status.SUCCESS

    doc = Document.objects.with_counts().get(pk=doc.pk)
    assert (doc.status, doc.language, doc.mime, doc.stt_model) == (
        Status.SUCCESS, "en", "audio/mpeg", speech_models["auto"],
    )  # fmt: skip
    # auto found English on a multilingual model and let the fast English one transcribe it
    assert (doc.detected_language, doc.stt_model_used) == ("en", speech_models["bundled-tiny-en"])
    assert doc.duration == pytest.approx(11.4, abs=0.1) and doc.paragraph_count >= 1
    paragraph = doc.paragraphs.first()
    assert paragraph.embedding is not None and len(paragraph.embedding) == 512
    assert "Jupiter" in paragraph.content and paragraph.end > paragraph.start >= 0


def test_run_silence_succeeds_with_no_paragraphs(speech_models, tmp_path):
    import av
    import numpy as np

    path = tmp_path / "silence.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 16000 * 15), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    doc = make_document("silence.wav", path.read_bytes())

    assert runner.run(doc.pk, "t-1") == Status.SUCCESS
    doc = Document.objects.get(pk=doc.pk)
    assert doc.paragraphs.count() == 0
    assert doc.warnings == ["no speech detected"]


def test_run_leaves_a_document_it_cannot_claim_alone(speech_models):
    doc = make_document("done.mp3", b"whatever", status=Status.SUCCESS)

    assert runner.run(doc.pk, "t-1") == "skipped"
    assert runner.run(10**9, "t-1") == "skipped"
    assert Document.objects.get(pk=doc.pk).status == Status.SUCCESS


@pytest.mark.skipif(HAS_CUDA, reason="this machine has CUDA; the GPU test below covers it")
def test_run_with_cuda_model_on_machine_without_gpu_fails_with_reason(speech_models):
    gpu = SpeechModel.objects.create(name="tiny-gpu", model="bundled:tiny.en", device="cuda", compute_type="float16")
    doc = make_document("jupiter.mp3", fixture_path("jupiter_en.mp3").read_bytes(), model=gpu)

    assert runner.run(doc.pk, "t-1") == Status.FAILURE

    error = Document.objects.get(pk=doc.pk).error
    assert error.startswith("cannot load speech model 'bundled:tiny.en' on cuda:")


@pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device: GPU path not available here")
def test_run_with_cuda_model_transcribes_on_gpu(speech_models):
    gpu = SpeechModel.objects.create(name="tiny-gpu", model="bundled:tiny.en", device="cuda", compute_type="float16")
    doc = make_document("jupiter.mp3", fixture_path("jupiter_en.mp3").read_bytes(), model=gpu)

    assert runner.run(doc.pk, "t-1") == Status.SUCCESS
    assert "Jupiter" in Document.objects.get(pk=doc.pk).paragraphs.first().content


def _rerun(doc, task_id):
    from knowledge import transitions

    Document.objects.filter(pk=doc.pk).update(status=Status.FAILURE)
    assert transitions.reset_for_reprocess(doc.pk, task_id)
    return runner.run(doc.pk, task_id)


def test_rerun_resumes_from_saved_segments_with_the_same_model_and_options(speech_models):
    from media_learning.models import TranscriptChunk

    options = {"segment_duration": 30.0}
    doc = make_document("lecture.mp3", fixture_path("lecture_60s_en.mp3").read_bytes(), options=options)
    assert runner.run(doc.pk, "t-1") == Status.SUCCESS
    chunks = list(TranscriptChunk.objects.filter(document=doc).order_by("index"))
    assert [c.index for c in chunks] == [0, 1]  # 65 s: a cut near 30 s, then a 35 s tail (< target + window)
    assert 20 <= chunks[0].end <= 40 and chunks[-1].end == pytest.approx(65.1, abs=0.1)
    # Mark a saved segment so that reuse is visible in the result.
    first = chunks[0]
    first.segments = [{**first.segments[0], "text": "SENTINEL text from the saved segment."}]
    first.save()

    assert _rerun(doc, "t-2") == Status.SUCCESS
    assert "SENTINEL" in " ".join(Document.objects.get(pk=doc.pk).paragraphs.values_list("content", flat=True))

    Document.objects.filter(pk=doc.pk).update(options={"segment_duration": 30.0, "beam_size": 2})
    assert _rerun(doc, "t-3") == Status.SUCCESS  # other options: transcribed afresh
    contents = " ".join(Document.objects.get(pk=doc.pk).paragraphs.values_list("content", flat=True))
    assert "SENTINEL" not in contents and "Welcome to this short lecture" in contents


def test_segmented_transcript_has_monotonic_times_on_the_media_timeline(speech_models):
    doc = make_document("lecture.mp3", fixture_path("lecture_60s_en.mp3").read_bytes(),
                        options={"segment_duration": 30.0, "word_timestamps": True})  # fmt: skip

    assert runner.run(doc.pk, "t-1") == Status.SUCCESS

    from media_learning.pipeline.transcribe import load_transcript

    transcript = load_transcript(Document.objects.get(pk=doc.pk))
    times = [t for s in transcript.segments for t in (s.start, s.end)]
    assert times == sorted(times) and transcript.segments[-1].end <= transcript.duration
    words = [w for s in transcript.segments for w in s.words]
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert any(s.start > 30 for s in transcript.segments)  # later segments were offset
