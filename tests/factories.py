"""Rows for tests that need a knowledge base or a document without running the pipeline
(factory_boy). Each document gets its own content hash, so no two are taken for the same media
by accident (the transcript reuse and the duplicate check compare it)."""

import factory
from django.db import transaction

from knowledge.models import Document, KnowledgeBase
from media_learning.pipeline import index


class KnowledgeBaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnowledgeBase

    name = factory.Sequence(lambda n: f"knowledge base {n}")


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    knowledge_base = factory.SubFactory(KnowledgeBaseFactory)
    name = factory.Sequence(lambda n: f"recording-{n}.mp3")
    sha256 = factory.Sequence(lambda n: f"{n + 1:064x}")


def index_drafts(document: Document, drafts: list) -> Document:
    """Give ``document`` these paragraphs (media_learning.pipeline.split.ParagraphDraft) as the
    pipeline's index stage does: embedded with the knowledge base's model, searchable."""
    model, vectors = index.embed_drafts(document, drafts)
    index.prepare_index(model, vectors)
    with transaction.atomic():
        index.replace_paragraphs(document, drafts, model, vectors)
    return document
