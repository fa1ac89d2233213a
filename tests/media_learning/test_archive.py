"""Export a knowledge base and import it elsewhere: the same documents, paragraphs, moments,
vectors, transcripts, runs and revisions, and the same search results; archives that are not
ours, corrupted or from a newer version are refused with the reason and create nothing."""

from __future__ import annotations

import io
import json
import zipfile
from io import StringIO

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from knowledge import corrections, embeddings, language_bias, search
from knowledge.models import Document, KnowledgeBase, ProcessingRun, Status
from media_learning import archive
from media_learning.models import TranscriptChunk
from media_learning.pipeline.split import ParagraphDraft
from tests.factories import index_drafts

pytestmark = pytest.mark.django_db

RECORDINGS = {
    "standup.mp3": ("en", [(0.0, 12.0, "We take a full database snapshot every night at two."),
                           (12.0, 25.0, "Nobody has tried a restore since March, so we plan a drill.")]),
    "lecture.mp4": ("en", [(0.0, 20.0, "Jupiter is the largest planet and its red spot is a storm.")]),
    "周会.wav": ("zh", [(0.0, 15.0, "新版本的发布日期定在十二月十八号"), (15.0, 30.0, "会议纪要今天下午发给大家")]),
}  # fmt: skip
QUESTIONS = ["when is the database snapshot taken", "what is the red spot on Jupiter", "发布日期是哪一天",
             "会议纪要什么时候发"]  # fmt: skip


@pytest.fixture
def team(user):
    kb = KnowledgeBase.objects.create(name="team", owner=user)
    for name, (language, rows) in RECORDINGS.items():
        doc = Document(knowledge_base=kb, name=name, sha256="a" * 64, status=Status.SUCCESS, language=language,
                       duration=rows[-1][1], owner=user)  # fmt: skip
        doc.file.save(name, ContentFile(b"media of " + name.encode()), save=True)
        drafts = [ParagraphDraft(content=t, start=s, end=e, cues=[[s, (s + e) / 2, t[:9]], [(s + e) / 2, e, t[9:]]])
                  for s, e, t in rows]  # fmt: skip
        index_drafts(doc, drafts)
        TranscriptChunk.objects.create(document=doc, index=0, start=0, end=rows[-1][1], language=language,
                                       segments=[{"start": s, "end": e, "text": t, "words": None} for s, e, t in rows],
                                       fingerprint="f")  # fmt: skip
        ProcessingRun.objects.create(document=doc, attempt=1, task_id="t", stt_model="auto -> bundled-base",
                                     outcome="SUCCESS", seconds=3.5, timings={"transcribe": 3.0})  # fmt: skip
    first = Document.objects.get(name="standup.mp3").paragraphs.get(position=1)
    corrections.correct(first, "Nobody has tried a restore since March, so we plan a restore drill.", user)
    language_bias.forget()
    return kb


def exported(kb, media=False) -> bytes:
    out = io.BytesIO()
    archive.export(kb, out, media=media)
    return out.getvalue()


def answers(kb) -> list[list[tuple]]:
    language_bias.forget()
    return [[(h.paragraph.document.name, h.paragraph.position, h.paragraph.content, h.paragraph.start,
              h.paragraph.end) for h in search.search(kb, q, top_k=3)] for q in QUESTIONS]  # fmt: skip


def test_a_round_trip_gives_the_same_knowledge_base_and_search_results(team, django_user_model):
    data = exported(team)
    other = django_user_model.objects.create_user("bob", password="pw-bob-12345")

    done = archive.import_archive(io.BytesIO(data), owner=other)

    kb = done.knowledge_base
    assert kb.name == "team" and kb.owner == other and not done.reembedded
    assert done.counts == {"documents": 3, "paragraphs": 5, "transcript_chunks": 3, "runs": 3, "revisions": 1,
                           "media": 0}  # fmt: skip
    assert answers(kb) == answers(team)
    standup = kb.documents.get(name="standup.mp3")
    original = team.documents.get(name="standup.mp3")
    assert np.allclose(np.asarray(standup.paragraphs.get(position=0).embedding),
                       np.asarray(original.paragraphs.get(position=0).embedding), atol=1e-6)  # fmt: skip
    cues = standup.paragraphs.get(position=0).cues
    assert cues == original.paragraphs.get(position=0).cues and cues[1] == [
        6.0,
        12.0,
        RECORDINGS["standup.mp3"][1][0][2][9:],
    ]
    fixed = standup.paragraphs.get(position=1)
    assert fixed.corrected_at is not None and fixed.revisions.get().previous.endswith("so we plan a drill.")
    assert standup.runs.get().stt_model == "auto -> bundled-base" and standup.searchable
    assert len(load_chunks(standup)) == 1 and standup.language == "en"
    again = archive.import_archive(io.BytesIO(data), owner=other)
    assert again.knowledge_base.name == "team (2)"  # names stay unique per owner

    # an embedding model this installation does not have: the paragraphs are embedded again
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    manifest["knowledge_base"]["embedding_model"] = "somewhere-else:model"
    moved = archive.import_archive(io.BytesIO(rewrite(data, "manifest.json", json.dumps(manifest).encode())))
    assert moved.reembedded and answers(moved.knowledge_base) == answers(team)


def load_chunks(doc):
    return list(TranscriptChunk.objects.filter(document=doc))


def test_media_travel_with_the_archive_and_names_stay_names(team, api, user, tmp_path):
    path = tmp_path / "team.zip"
    call_command("export_kb", str(path), "--knowledge", "team", "--media", stdout=StringIO())
    out = StringIO()
    call_command("import_kb", str(path), "--owner", user.username, "--name", "copy", stdout=out)

    copy = KnowledgeBase.objects.get(name="copy")
    doc = copy.documents.get(name="周会.wav")
    assert "imported knowledge base 'copy'" in out.getvalue() and "3 media" in out.getvalue()
    assert doc.file.read() == "media of 周会.wav".encode()
    media = api.get(f"/api/knowledge/document/{doc.pk}/media/")
    assert media.status_code == 200


def rewrite(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for item in source.infolist():
            zf.writestr(item.filename, content if item.filename == name else source.read(item.filename))
    return out.getvalue()


def test_bad_archives_are_refused_with_the_reason_and_create_nothing(team, user, tmp_path):
    data = exported(team)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    newer = rewrite(data, "manifest.json", json.dumps({**manifest, "version": 99}).encode())
    broken_line = rewrite(data, "paragraphs.jsonl", b'{"document": 1, "position": 0\n')
    missing_media = rewrite(data, "documents.jsonl", zipfile.ZipFile(io.BytesIO(data)).read("documents.jsonl")
                            .replace(b'"media":null', b'"media":"../../etc/passwd"', 1))  # fmt: skip
    before = (KnowledgeBase.objects.count(), Document.objects.count())

    short_vectors = rewrite(data, "paragraphs.jsonl", b"".join(
        json.dumps({**json.loads(line), "embedding": [0.1, 0.2]}).encode() + b"\n"
        for line in zipfile.ZipFile(io.BytesIO(data)).read("paragraphs.jsonl").splitlines()))  # fmt: skip
    bad_cues = rewrite(data, "paragraphs.jsonl", b"".join(
        json.dumps({**json.loads(line), "cues": [[3.0, 1.0, "x"]]}).encode() + b"\n"
        for line in zipfile.ZipFile(io.BytesIO(data)).read("paragraphs.jsonl").splitlines()))  # fmt: skip
    cases = {
        bad_cues: "a cue ends before it starts",
        short_vectors: f"its embedding is not {embeddings.dimensions()} numbers",
        b"this is not a zip file": "not a readable zip file",
        data[: len(data) // 2]: "not a readable zip file",
        newer: "version 99, from a newer installation",
        broken_line: "paragraphs.jsonl line 1 is not JSON",
        missing_media: "its media '../../etc/passwd' is not in the archive",
        rewrite(data, "manifest.json", b'{"format": "something else"}'): "not a knowledge-base archive",
    }
    for content, reason in cases.items():
        with pytest.raises(archive.ArchiveError, match=reason.replace("(", r"\(").replace(".", r"\.")):
            archive.import_archive(io.BytesIO(content), owner=user)

    assert (KnowledgeBase.objects.count(), Document.objects.count()) == before
    path = tmp_path / "newer.zip"
    path.write_bytes(newer)
    with pytest.raises(CommandError, match="not imported: the archive is version 99"):
        call_command("import_kb", str(path))


def test_owners_download_the_archive(team, api, django_user_model):
    from rest_framework.test import APIClient

    from knowledge.models import Membership, Role

    response = api.get(f"/api/knowledge/{team.pk}/export/")
    body = b"".join(response.streaming_content)
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert 'attachment; filename="team.zip"' in response["Content-Disposition"]
    assert {"manifest.json", "documents.jsonl", "paragraphs.jsonl"} <= set(names)
    with_media = zipfile.ZipFile(io.BytesIO(b"".join(api.get(f"/api/knowledge/{team.pk}/export/?media=1")
                                                     .streaming_content))).namelist()  # fmt: skip
    assert sum(n.startswith("media/") for n in with_media) == 3
    editor = django_user_model.objects.create_user("ed", password="pw-ed-12345")
    Membership.objects.create(knowledge_base=team, user=editor, role=Role.EDITOR)
    client = APIClient()
    client.force_authenticate(editor)
    assert client.get(f"/api/knowledge/{team.pk}/export/").status_code == 403


def test_the_llm_options_travel_apart_and_an_older_archive_s_are_moved_out(team, user):
    team.documents.filter(name="standup.mp3").update(
        options={"language": "en"}, llm_options={"enable_punctuation": False, "enable_summary": True}
    )
    data = exported(team)
    lines = zipfile.ZipFile(io.BytesIO(data)).read("documents.jsonl").decode().splitlines()
    rows = [json.loads(line) for line in lines]
    for row in rows:  # as written before Document.llm_options: both in "options"
        row["options"] = {**row["options"], **row.pop("llm_options")}
    older = rewrite(data, "documents.jsonl", "\n".join(json.dumps(r) for r in rows).encode())
    rows[0]["llm_options"] = {"language": "xx", "enable_summary": False}  # a key in the wrong part is dropped
    rows[0]["options"] = {"language": "en"}
    crossed = rewrite(data, "documents.jsonl", "\n".join(json.dumps(r) for r in rows).encode())

    for imported in (archive.import_archive(io.BytesIO(data), owner=user),
                     archive.import_archive(io.BytesIO(older), owner=user)):  # fmt: skip
        standup = imported.knowledge_base.documents.get(name="standup.mp3")
        assert standup.options == {"language": "en"}
        assert standup.llm_options == {"enable_punctuation": False, "enable_summary": True}
        assert imported.knowledge_base.documents.get(name="lecture.mp4").llm_options == {}
    first = archive.import_archive(io.BytesIO(crossed), owner=user).knowledge_base.documents.get(name=rows[0]["name"])
    assert first.options == {"language": "en"} and first.llm_options == {"enable_summary": False}
