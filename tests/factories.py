"""Rows for tests that need a knowledge base or a document without running the pipeline
(factory_boy). Each document gets its own content hash, so no two are taken for the same media
by accident (the transcript reuse and the duplicate check compare it)."""

import factory

from knowledge.models import Document, KnowledgeBase


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
