"""Who said it: the diarizer on conversations built from real (synthetic) voices with known turns,
in English and Mandarin, and the pipeline end to end with the real worker and models."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from faster_whisper import decode_audio

from knowledge.ingest import wait_until_finished
from knowledge.models import KnowledgeBase, ProcessingRun, RunOutcome, Stage, Status, Voice
from media_learning.pipeline import runner, speakers
from media_learning.pipeline.split import build_paragraphs
from stt_models.diarization.diarize import diarize
from stt_models.providers.base import Segment, Word
from tests.conftest import fixture_path
from tests.factories import DocumentFactory
from tests.fixtures import speaker_mixes as mixes


def _der(samples: np.ndarray, refs: list[mixes.RefTurn], **kwargs: object) -> tuple[float, int]:
    found = diarize(samples, **kwargs)
    return mixes.der(refs, [(t.start, t.end, t.speaker) for t in found.turns]), found.speakers


@pytest.mark.parametrize("voices", [["en_slt", "en_kal"], ["zh_a", "zh_b"], ["zh_a", "en_ked"]])
def test_two_voices_are_told_apart_in_either_language(voices):
    samples, refs = mixes.build(voices, turns=8, seed=1)
    error, count = _der(samples, refs)
    assert count == 2 and error <= 0.10, (count, error)


def test_five_voices_under_noise_and_a_given_count():
    samples, refs = mixes.build(mixes.voices("en"), turns=10, seed=2, snr_db=10)
    error, count = _der(samples, refs)
    assert count == 5 and error <= 0.10, (count, error)
    samples, refs = mixes.build(mixes.voices("zh"), turns=9, seed=3)
    assert _der(samples, refs, num_speakers=3) == (pytest.approx(_der(samples, refs, num_speakers=3)[0]), 3)
    assert _der(samples, refs, max_speakers=2)[1] == 2 and _der(samples, refs, min_speakers=4)[1] == 4


@pytest.mark.parametrize("name", ["lecture_60s_en.mp3", "zh/zh_shared_meeting.wav"])
def test_one_voice_is_one_speaker(name):
    found = diarize(decode_audio(str(fixture_path(name))))
    assert found.speakers == 1 and found.speech_seconds[0] > 40
    assert speakers.diarize_document(decode_audio(str(fixture_path(name))), {}) == {}  # auto: no labels


def test_silence_has_no_speakers():
    assert diarize(np.zeros(16000 * 5, dtype=np.float32)).turns == []


def test_segments_take_their_speaker_and_paragraphs_break_where_it_changes():
    turns = [[0.0, 4.0, "SPEAKER_1"], [4.0, 9.0, "SPEAKER_2"]]
    words = [Word(0.5, 1.0, " Hello"), Word(1.0, 3.5, " there."), Word(4.2, 5.0, " Hi"), Word(5.0, 6.0, " back.")]
    segments = [Segment(0.5, 6.0, "Hello there. Hi back.", words=words), Segment(6.5, 8.5, "Second speaker again.")]
    labelled = speakers.label_segments(segments, {"turns": turns})
    assert [(s.text, s.speaker) for s in labelled] == [
        ("Hello there.", "SPEAKER_1"), ("Hi back.", "SPEAKER_2"), ("Second speaker again.", "SPEAKER_2")]  # fmt: skip
    paragraphs = build_paragraphs(labelled, min_chars=1000, max_chars=2000, pause=10)
    assert [(p.content, p.speaker) for p in paragraphs] == [
        ("Hello there.", "SPEAKER_1"), ("Hi back. Second speaker again.", "SPEAKER_2")]  # fmt: skip
    named = speakers.named_segments(segments, {"turns": turns, "voices": {"SPEAKER_2": {"name": "Li Wei"}}})
    assert [s.speaker for s in named] == ["SPEAKER_1", "Li Wei", "Li Wei"]
    assert speakers.label_segments(segments, {}) == segments


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_two_person_meeting_is_transcribed_with_who_said_what(api, speech_models, celery_worker, tmp_path,
                                                                 language_model, chat_server):  # fmt: skip
    samples, refs = mixes.build(["en_slt", "en_kal"], turns=6, seed=4)
    path = tmp_path / "standup.mp3"
    mixes.write_mp3(path, samples)
    kb = api.post("/api/knowledge/", {"name": "meetings"}, format="json").data["id"]
    upload = SimpleUploadedFile("standup.mp3", path.read_bytes())
    response = api.post(f"/api/knowledge/{kb}/document/", {"file": [upload], "diarize": "on", "word_timestamps": True})
    assert response.status_code == 201, response.data
    doc_id = response.data["documents"][0]["id"]
    [row] = wait_until_finished([doc_id], timeout=300, poll=0.2)
    assert row.status == Status.SUCCESS, row.error

    detail = api.get(f"/api/knowledge/document/{doc_id}/").data
    assert [s["label"] for s in detail["speakers"]] == ["SPEAKER_1", "SPEAKER_2"]
    assert "diarize" in detail["runs"][-1]["timings"]
    # the transcribing worker handed the document to the diarize queue, and that to the index queue
    stages = [part.split(":")[0] for part in ProcessingRun.objects.get(document_id=doc_id).worker.split("; ")]
    assert stages[1:] == ["diarize", "index"], stages
    paragraphs = [p for p in api.get(f"/api/knowledge/document/{doc_id}/paragraphs/").data["results"]]
    # every paragraph's speaker is the voice that really says it (SPEAKER_1 is the first voice heard)
    truth = {"en_slt": "SPEAKER_1", "en_kal": "SPEAKER_2"}
    for p in paragraphs:
        middle = (p["start"] + p["end"]) / 2
        said = min(refs, key=lambda r: max(r.start - middle, middle - r.end, 0.0))
        assert p["speaker"] == truth[said.voice], (p, said)
    assert {p["speaker"] for p in paragraphs} == {"SPEAKER_1", "SPEAKER_2"}

    vtt = api.get(f"/api/knowledge/document/{doc_id}/transcript/", {"format": "vtt"}).content.decode()
    assert re.search(r"<v SPEAKER_1>\S", vtt) and "<v SPEAKER_2>" in vtt
    as_json = api.get(f"/api/knowledge/document/{doc_id}/transcript/", {"format": "json"}).json()
    assert {s["speaker"] for s in as_json["segments"]} == {"SPEAKER_1", "SPEAKER_2"}
    hits = api.get(f"/api/knowledge/{kb}/search/", {"q": "budget for the new servers"}).data
    assert hits[0]["speaker"] in ("SPEAKER_1", "SPEAKER_2") and "budget" in hits[0]["content"]

    # naming a speaker: on its paragraphs, hits and exports at once; markup in a name stays text
    url = f"/api/knowledge/document/{doc_id}/speakers/"
    renamed = api.patch(url, {"label": "SPEAKER_2", "name": "  Li <b>Wei</b> "}, format="json")
    assert renamed.status_code == 200, renamed.data
    assert renamed.data["speakers"] == {"SPEAKER_1": "SPEAKER_1", "SPEAKER_2": "Li <b>Wei</b>"}
    shown = {p["speaker"] for p in api.get(f"/api/knowledge/document/{doc_id}/paragraphs/").data["results"]}
    assert shown == {"SPEAKER_1", "Li <b>Wei</b>"}
    vtt = api.get(f"/api/knowledge/document/{doc_id}/transcript/", {"format": "vtt"}).content.decode()
    assert "<v Li &lt;b&gt;Wei&lt;/b&gt;>" in vtt and "<b>" not in vtt
    srt = api.get(f"/api/knowledge/document/{doc_id}/transcript/", {"format": "srt"}).content.decode()
    assert re.search(r"^Li <b>Wei</b>: \S", srt, re.M)
    assert api.get(f"/api/knowledge/document/{doc_id}/").data["speakers"][1]["name"] == "Li <b>Wei</b>"
    clash = api.patch(url, {"label": "SPEAKER_1", "name": "Li <b>Wei</b>"}, format="json")
    assert clash.status_code == 409 and "already called" in clash.data["detail"]
    unknown = api.patch(url, {"label": "SPEAKER_9", "name": "Ann"}, format="json")
    assert unknown.status_code == 409 and "SPEAKER_1, SPEAKER_2" in unknown.data["detail"]
    assert api.patch(url, {"label": "SPEAKER_1", "name": "x" * 101}, format="json").status_code == 400
    undone = api.patch(url, {"label": "SPEAKER_2", "name": ""}, format="json")
    assert undone.data["speakers"]["SPEAKER_2"] == "SPEAKER_2"
    shown = {p["speaker"] for p in api.get(f"/api/knowledge/document/{doc_id}/paragraphs/").data["results"]}
    assert shown == {"SPEAKER_1", "SPEAKER_2"}

    # search and ask by speaker (its name, without case, or its label while unnamed)
    api.patch(url, {"label": "SPEAKER_1", "name": "Ann Lee"}, format="json")
    search_url = f"/api/knowledge/{kb}/search/"
    only_ann = api.get(search_url, {"q": "servers budget release tests", "speaker": "ann lee", "top_k": 20}).data
    assert only_ann and {h["speaker"] for h in only_ann} == {"Ann Lee"}
    only_two = api.get(search_url, {"q": "servers budget release tests", "speaker": "SPEAKER_2", "top_k": 20}).data
    assert only_two and {h["speaker"] for h in only_two} == {"SPEAKER_2"}
    assert api.get(search_url, {"q": "budget", "speaker": "nobody", "mode": "keyword"}).data == []
    asked = api.post(f"/api/knowledge/{kb}/ask/", {"question": "What did they say about the budget?",
                     "speaker": "SPEAKER_2", "llm_model_id": language_model.name}, format="json")  # fmt: skip
    assert asked.status_code == 200, asked.data
    assert asked.data["citations"] and {c["speaker"] for c in asked.data["citations"]} == {"SPEAKER_2"}
    prompt = chat_server.requests[-1]["messages"][-1]["content"]
    assert "SPEAKER_2)" in prompt and "Ann Lee" not in prompt

    # the knowledge base now knows Ann Lee's voice (Li Wei was named, then un-named: forgotten)
    assert list(Voice.objects.filter(knowledge_base_id=kb).values_list("name", flat=True)) == ["Ann Lee"]
    samples, _ = mixes.build(["en_kal", "en_slt"], turns=4, seed=5)  # other sentences, the other voice first
    path = tmp_path / "retro.mp3"
    mixes.write_mp3(path, samples)
    second = api.post(f"/api/knowledge/{kb}/document/", {"file": [SimpleUploadedFile("retro.mp3", path.read_bytes())],
                      "diarize": "on"}).data["documents"][0]["id"]  # fmt: skip
    [row] = wait_until_finished([second], timeout=300, poll=0.2)
    assert row.status == Status.SUCCESS, row.error
    listed = {s["label"]: s for s in api.get(f"/api/knowledge/document/{second}/").data["speakers"]}
    assert listed["SPEAKER_2"]["name"] == "Ann Lee" and listed["SPEAKER_2"]["match"] >= 0.7
    assert listed["SPEAKER_1"]["name"] == "SPEAKER_1" and listed["SPEAKER_1"]["match"] is None
    said = {p["speaker"] for p in api.get(f"/api/knowledge/document/{second}/paragraphs/").data["results"]}
    assert said == {"SPEAKER_1", "Ann Lee"}
    # a wrong match is undone by naming the speaker '' (the known voice stays as people taught it)
    before = Voice.objects.get(knowledge_base_id=kb).embedding
    api.patch(f"/api/knowledge/document/{second}/speakers/", {"label": "SPEAKER_2", "name": ""}, format="json")
    listed = {s["label"]: s for s in api.get(f"/api/knowledge/document/{second}/").data["speakers"]}
    assert listed["SPEAKER_2"] == {"label": "SPEAKER_2", "name": "SPEAKER_2", "seconds": listed["SPEAKER_2"]["seconds"],
                                   "match": None}  # fmt: skip
    assert Voice.objects.get(knowledge_base_id=kb).embedding == before


@pytest.mark.django_db(transaction=True)
def test_speaker_options_are_checked_at_upload(api, speech_models):
    kb = api.post("/api/knowledge/", {"name": "checked"}, format="json").data["id"]
    upload = SimpleUploadedFile("a.mp3", fixture_path("jupiter_en.mp3").read_bytes())
    bad = api.post(f"/api/knowledge/{kb}/document/", {"file": [upload], "min_speakers": 4, "max_speakers": 2})
    assert bad.status_code == 400 and "min_speakers" in str(bad.data)
    upload.seek(0)
    bad = api.post(f"/api/knowledge/{kb}/document/", {"file": [upload], "diarize": "maybe"})
    assert bad.status_code == 400 and "diarize" in str(bad.data)
    assert api.patch(f"/api/knowledge/{kb}/", {"diarize": "sometimes"}, format="json").status_code == 400


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_knowledge_base_can_turn_diarization_off(api, speech_models, celery_worker, tmp_path):
    kb = api.post("/api/knowledge/", {"name": "quiet", "diarize": "off"}, format="json").data["id"]
    samples, _ = mixes.build(["zh_a", "zh_c"], turns=12, seed=6)
    assert len(samples) / 16000 > 60  # over a minute: auto would diarize it
    path = tmp_path / "两人.mp3"
    mixes.write_mp3(path, samples)
    doc = api.post(f"/api/knowledge/{kb}/document/", {"file": [SimpleUploadedFile("两人.mp3", path.read_bytes())]})
    [row] = wait_until_finished([doc.data["documents"][0]["id"]], timeout=300, poll=0.2)
    assert row.status == Status.SUCCESS, row.error
    detail = api.get(f"/api/knowledge/document/{row.pk}/").data
    assert detail["speakers"] == [] and "diarize" not in detail["runs"][-1]["timings"]
    assert {p["speaker"] for p in api.get(f"/api/knowledge/document/{row.pk}/paragraphs/").data["results"]} == {""}


@pytest.mark.slow
@pytest.mark.django_db
def test_speakers_that_cannot_be_found_leave_the_transcript_with_a_warning(speech_models, tmp_path):
    """The diarize stage runs after the transcribe stage handed the document over; here the media
    is gone by then (deleted from storage), so no speakers can be found: the document still
    succeeds with its transcript, unlabelled, and says why in one line."""
    samples, _ = mixes.build(["zh_a", "zh_b"], turns=4, seed=8)
    path = tmp_path / "pair.mp3"
    mixes.write_mp3(path, samples)
    kb = KnowledgeBase.objects.create(name="fragile")
    doc = DocumentFactory.build(knowledge_base=kb, name="pair.mp3", task_id="t-1",
                   stt_model=speech_models["bundled-base"], options={"diarize": "on"})  # fmt: skip
    doc.file.save("pair.mp3", ContentFile(path.read_bytes()), save=True)
    handed = runner.run(doc.pk, "t-1", hand_off=True)  # what the Celery task would send on (dispatch.py)
    assert isinstance(handed, runner.HandOff) and str(handed) == "handed off to diarize"
    next_id, payload = handed.task_id, handed.payload
    assert "drafts" not in payload
    doc.refresh_from_db()
    assert (doc.status, doc.stage, doc.task_id, doc.heartbeat_at) == (Status.STARTED, Stage.DIARIZING, next_id, None)

    os.remove(doc.file.path)
    assert runner.run_stage("diarize", doc.pk, next_id, payload, hand_off=False) == Status.SUCCESS
    doc.refresh_from_db()
    [warning] = [w for w in doc.warnings if w.startswith("speakers not found")]
    assert "\n" not in warning and len(warning) < 300, warning
    assert doc.speakers == {} and doc.paragraphs.count() >= 1
    assert set(doc.paragraphs.values_list("speaker", flat=True)) == {""}
    text = "".join(doc.paragraphs.values_list("content", flat=True))
    assert doc.language == "zh" and len(re.findall(r"[\u4e00-\u9fff]", text)) > 20, text
    run = ProcessingRun.objects.get(document=doc)
    assert {"transcribe", "diarize", "index"} <= set(run.timings) and run.outcome == RunOutcome.SUCCESS


def test_long_recordings_are_read_by_the_vad_in_pieces_and_diarized_from_16_bit_samples(monkeypatch):
    """The VAD reads VAD_PIECE seconds at a time (its buffers grew with what it read):
    speech that goes on across a cut stays one region, and 16-bit samples (half the memory of
    float) diarize as the same turns."""
    from stt_models.diarization import diarize as diarization

    samples, refs = mixes.build(["en_slt", "en_kal"], turns=8, seed=1)
    whole = diarization.speech_regions(samples)
    monkeypatch.setattr(diarization, "VAD_PIECE", 7.0)
    pieces = diarization.speech_regions(samples)
    pcm = np.round(np.clip(samples, -1, 1 - 2**-15) * 32768).astype(np.int16)

    assert len(samples) / 16000 > 4 * 7.0  # six cuts, one of them inside (4.9 s, 19.0 s) twice
    assert len(pieces) == len(whole)
    assert np.abs(np.array(pieces) - np.array(whole)).max() < 0.1
    error, count = _der(pcm, refs)
    assert count == 2 and error <= 0.10, (count, error)
