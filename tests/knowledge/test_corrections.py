"""Correcting a transcript: the paragraph's new text is embedded and indexed at once (real model,
real PostgreSQL), its moment kept, the old text kept as a revision; exports show it."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from knowledge import embeddings, search
from knowledge.models import Document, KnowledgeBase, Membership, Paragraph, Role, Status
from media_learning.models import TranscriptChunk
from media_learning.pipeline.split import ParagraphDraft
from tests.factories import DocumentFactory, index_drafts

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(user):
    kb = KnowledgeBase.objects.create(name="team", owner=user)
    doc = DocumentFactory.build(knowledge_base=kb, name="standup.mp3", status=Status.SUCCESS, language="en")
    doc.file.save("standup.mp3", ContentFile(b"x"), save=True)
    rows = [(0.0, 9.0, "We moved the release to Thursday."),
            (9.0, 20.0, "The data base migration ran on Jupyter nodes."),
            (20.0, 30.0, "会议纪要今天下午发给大家")]  # fmt: skip
    drafts = [ParagraphDraft(content=t, start=s, end=e) for s, e, t in rows]
    index_drafts(doc, drafts)
    segments = [{"start": s, "end": e, "text": t, "words": None} for s, e, t in
                [(0.0, 9.0, rows[0][2]), (9.0, 14.0, "The data base migration"), (14.0, 20.0, "ran on Jupyter nodes."),
                 (20.0, 30.0, rows[2][2])]]  # fmt: skip
    TranscriptChunk.objects.create(document=doc, index=0, start=0, end=30, language="en", segments=segments,
                                   fingerprint="f")  # fmt: skip
    return doc


def paragraph(doc, position):
    return Paragraph.objects.get(document=doc, position=position)


def test_a_corrected_paragraph_is_found_by_its_new_words_at_once(api, user, meeting):
    wrong = paragraph(meeting, 1)
    fixed = "The database migration ran on the Jupiter nodes."

    response = api.patch(f"/api/knowledge/paragraph/{wrong.pk}/", {"content": fixed}, format="json")

    assert response.status_code == 200, response.data
    row = paragraph(meeting, 1)
    assert row.content == fixed and row.raw_content == wrong.content and (row.start, row.end) == (9.0, 20.0)
    assert response.data["corrected_at"] is not None
    expected = embeddings.embed([fixed], row.embedding_model)[0]
    assert np.allclose(np.asarray(row.embedding), expected, atol=1e-6)
    kb = meeting.knowledge_base
    assert [h.paragraph.pk for h in search.search(kb, "Jupiter", mode="keyword")] == [row.pk]
    assert search.search(kb, "Jupyter", mode="keyword") == []
    revisions = api.get(f"/api/knowledge/paragraph/{row.pk}/revisions/").data
    assert [(r["previous"], r["content"], r["user"]) for r in revisions] == [(wrong.content, fixed, user.username)]

    # the same text again changes nothing and writes no revision
    assert api.patch(f"/api/knowledge/paragraph/{row.pk}/", {"content": fixed}, format="json").status_code == 200
    assert row.revisions.count() == 1


def test_corrections_in_chinese_and_in_the_exports(api, meeting):
    zh = paragraph(meeting, 2)
    api.patch(f"/api/knowledge/paragraph/{zh.pk}/", {"content": "会议纪要明天上午发给大家"}, format="json")
    fixed = paragraph(meeting, 1)
    api.patch(f"/api/knowledge/paragraph/{fixed.pk}/", {"content": "The database migration ran on Jupiter."},
              format="json")  # fmt: skip

    kb = meeting.knowledge_base
    assert [h.paragraph.pk for h in search.search(kb, "明天上午", mode="keyword")] == [zh.pk]
    subtitles = api.get(f"/api/knowledge/document/{meeting.pk}/transcript/", {"format": "srt"}).content.decode()
    assert "The database migration ran on Jupiter." in subtitles and "Jupyter" not in subtitles
    assert "00:00:09,000 --> 00:00:20,000" in subtitles and "We moved the release to Thursday." in subtitles
    assert "明天上午" in subtitles and "今天下午" not in subtitles


def test_who_may_correct_and_what_is_refused(api, meeting, django_user_model):
    target = paragraph(meeting, 0)
    url = f"/api/knowledge/paragraph/{target.pk}/"
    viewer, stranger = APIClient(), APIClient()
    reader = django_user_model.objects.create_user("vic", password="pw-v-12345")
    Membership.objects.create(knowledge_base=meeting.knowledge_base, user=reader, role=Role.VIEWER)
    viewer.force_authenticate(reader)
    stranger.force_authenticate(django_user_model.objects.create_user("mallory", password="pw-m-12345"))

    assert viewer.patch(url, {"content": "x"}, format="json").status_code == 403
    assert viewer.get(f"{url}revisions/").status_code == 200
    assert stranger.patch(url, {"content": "x"}, format="json").status_code == 404
    assert api.patch(url, {"content": "   "}, format="json").status_code == 400
    assert api.patch(url, {"content": "y" * 20_001}, format="json").status_code == 400
    Document.objects.filter(pk=meeting.pk).update(status=Status.STARTED)
    busy = api.patch(url, {"content": "We moved it to Friday."}, format="json")
    assert busy.status_code == 409 and "SUCCESS" in busy.data["detail"]
    assert paragraph(meeting, 0).content == target.content and target.revisions.count() == 0
