"""Paragraphs keep the times of the segments they were cut from (their cues), and those indexed
before cues were kept get them from the stored transcript (migration 0003 of media_learning)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import transaction

from knowledge.models import KnowledgeBase, Status
from media_learning.models import TranscriptChunk
from media_learning.pipeline import index
from media_learning.pipeline.clean import in_script
from media_learning.pipeline.split import ParagraphDraft, build_paragraphs
from stt_models.providers.base import Segment
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

SEGMENTS = [
    Segment(start=0.0, end=4.0, text="數據庫每天凌晨兩點備份。"),
    Segment(start=4.0, end=9.5, text="保留三十天。"),
    Segment(start=12.5, end=15.0, text="下週演練恢復。"),
]


def test_paragraphs_keep_their_segments_times_in_the_knowledge_bases_script():
    one_each = in_script(build_paragraphs(SEGMENTS, min_chars=1), "zh-Hans")
    assert [p.cues for p in one_each] == [[[0.0, 4.0, "数据库每天凌晨两点备份。"]], [[4.0, 9.5, "保留三十天。"]],
                                          [[12.5, 15.0, "下周演练恢复。"]]]  # fmt: skip
    assert one_each[0].raw_content == "數據庫每天凌晨兩點備份。"

    (joined,) = in_script(build_paragraphs(SEGMENTS, min_chars=1000, pause=5), "zh-Hans")
    assert joined.cues == [
        [0.0, 4.0, "数据库每天凌晨两点备份。"],
        [4.0, 9.5, "保留三十天。"],
        [12.5, 15.0, "下周演练恢复。"],
    ]
    assert (joined.start, joined.end) == (0.0, 15.0)


def test_paragraphs_indexed_before_cues_get_them_from_the_stored_transcript(user):
    kb = KnowledgeBase.objects.create(name="old", owner=user)
    doc = DocumentFactory(knowledge_base=kb, status=Status.SUCCESS)
    drafts = [ParagraphDraft(content="数据库每天凌晨两点备份。保留三十天。", start=0.0, end=9.5),
              ParagraphDraft(content="下周演练恢复。", start=12.5, end=15.0)]  # fmt: skip
    model, vectors = index.embed_drafts(doc, drafts)
    with transaction.atomic():
        index.replace_paragraphs(doc, drafts, model, vectors)
    stored = [{"start": s.start, "end": s.end, "text": s.text, "words": None} for s in SEGMENTS]
    TranscriptChunk.objects.create(
        document=doc, index=0, start=0, end=15, fingerprint="f", segments=[*stored, {"x": 1}]
    )
    assert [p.cues for p in doc.paragraphs.order_by("position")] == [[], []]

    importlib.import_module("media_learning.migrations.0003_paragraph_cues_from_transcripts").fill_cues(apps, None)

    first, second = doc.paragraphs.order_by("position")
    assert first.cues == [[0.0, 4.0, "數據庫每天凌晨兩點備份。"], [4.0, 9.5, "保留三十天。"]]
    assert second.cues == [[12.5, 15.0, "下週演練恢復。"]]
