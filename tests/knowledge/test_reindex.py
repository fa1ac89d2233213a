"""One embedding model per knowledge base: fixed by its first document, never mixed, and moved to
another model by a reindex that keeps search answering throughout (build new, then switch)."""

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from knowledge import embeddings, search
from knowledge.kb_embedding import EmbeddingMismatch
from knowledge.models import KnowledgeBase, Paragraph, StagedEmbedding, Status
from knowledge.reindex import reindex_knowledge_base
from media_learning.pipeline import index
from media_learning.pipeline.split import ParagraphDraft
from tests.factories import DocumentFactory, index_drafts

pytestmark = pytest.mark.django_db(transaction=True)  # HNSW indexes are created outside transactions

TOPICS = ["Jupiter has a great red spot, a storm bigger than the Earth.", "Knead the dough and let it rise.",
          "The router needs a firmware update.", "Whales sing songs that travel for miles."]  # fmt: skip


@pytest.fixture(autouse=True)
def models_dir(settings, tmp_path_factory):
    """Query-encoder exports of the projected model (a new folder every run) stay out of var/models."""
    settings.MODELS_DIR = tmp_path_factory.getbasetemp() / "reindex-models"


@pytest.fixture(scope="module")
def projected_model(tmp_path_factory):
    """A real second embedding model with another dimension: MiniLM plus a fixed 384 -> 128
    projection, saved as a sentence-transformers folder (no download)."""
    import torch
    from sentence_transformers import SentenceTransformer, models

    base = embeddings.get_model(embeddings.MINILM)
    torch.manual_seed(7)
    dense = models.Dense(in_features=384, out_features=128, bias=False, activation_function=torch.nn.Identity())
    path = tmp_path_factory.mktemp("projected") / "minilm-128"
    SentenceTransformer(modules=[base[0], base[1], dense, models.Normalize()]).save(str(path))
    return str(path)


def add_document(kb, name, texts):
    doc = DocumentFactory.build(knowledge_base=kb, name=name, status=Status.SUCCESS)
    doc.file.save(f"{name}.mp3", ContentFile(b"x"), save=True)
    drafts = [ParagraphDraft(content=t, start=5.0 * i, end=5.0 * i + 4) for i, t in enumerate(texts)]
    index_drafts(doc, drafts)
    return doc


def test_first_document_fixes_the_knowledge_base_model_and_dimension():
    kb = KnowledgeBase.objects.create(name="fresh")

    add_document(kb, "a", TOPICS[:2])

    kb.refresh_from_db()
    assert (kb.embedding_model, kb.embedding_dimensions) == (embeddings.model_name(), 512)
    assert set(Paragraph.objects.values_list("embedding_model", "embedding_dimensions")) == {(kb.embedding_model, 512)}


def test_reindex_switches_to_another_model_while_search_keeps_answering(projected_model):
    kb = KnowledgeBase.objects.create(name="moving")
    for i in range(12):
        add_document(kb, f"doc{i}", [f"{t} (part {i})" for t in TOPICS] * 6)  # 24 paragraphs each
    kb.refresh_from_db()
    old = kb.embedding_model
    during = []

    def search_meanwhile(done: int) -> None:
        hits = search.search(kb, "a storm on Jupiter", top_k=3, mode="vector")
        during.append((done, len(hits), {h.paragraph.embedding_model for h in hits}, hits[0].paragraph.content))
        if done == 256:  # a document indexed mid-way, with the old model
            add_document(kb, "late", ["A late talk about volcanoes on Io."])

    result = reindex_knowledge_base(kb, projected_model, on_batch=search_meanwhile)

    kb.refresh_from_db()
    after = search.search(kb, "a storm on Jupiter", top_k=3, mode="vector")
    late = search.search(kb, "volcanoes on Io", top_k=1, mode="vector")
    assert len(during) >= 2 and all(n == 3 and models == {old} for _, n, models, _ in during)
    assert all("Jupiter" in first for *_, first in during)  # the old vectors kept answering
    assert result.paragraphs == 12 * 24 + 1 and result.old_model == old and result.dimensions == 128
    assert (kb.embedding_model, kb.embedding_dimensions) == (projected_model, 128)
    assert set(Paragraph.objects.values_list("embedding_model", "embedding_dimensions")) == {(projected_model, 128)}
    assert "Jupiter" in after[0].paragraph.content and "Io" in late[0].paragraph.content
    assert not StagedEmbedding.objects.exists()


def test_vectors_of_another_dimension_are_refused(projected_model):
    kb = KnowledgeBase.objects.create(name="fixed", embedding_model=projected_model, embedding_dimensions=384)
    doc = DocumentFactory(knowledge_base=kb, name="d")
    drafts = [ParagraphDraft(content=TOPICS[0], start=0, end=1)]
    model, vectors = index.embed_drafts(doc, drafts)

    with pytest.raises(EmbeddingMismatch, match="holds 384-dimension vectors of .* now gives 128: mixing"):
        with transaction.atomic():
            index.replace_paragraphs(doc, drafts, model, vectors)
    with pytest.raises(IntegrityError, match="paragraph_embedding_dimensions"):
        Paragraph.objects.create(document=doc, knowledge_base=kb, position=0, content="x", start=0, end=1,
                                 embedding=np.ones(8), embedding_model="m", embedding_dimensions=384)  # fmt: skip
    assert not Paragraph.objects.exists()


def test_api_sets_a_registered_model_at_creation_only(api, projected_model, settings):
    settings.EMBEDDING_MODELS = [projected_model, "/no/such/model"]  # the operator registers both

    created = api.post("/api/knowledge/", {"name": "small", "embedding_model": projected_model}, format="json")
    broken = api.post("/api/knowledge/", {"name": "bad", "embedding_model": "/no/such/model"}, format="json")
    unregistered = api.post("/api/knowledge/", {"name": "other", "embedding_model": "/tmp"}, format="json")
    moved = api.patch(f"/api/knowledge/{created.data['id']}/", {"embedding_model": "other"}, format="json")

    assert created.status_code == 201 and created.data["embedding_dimensions"] == 128
    assert broken.status_code == 400 and "cannot load embedding model" in broken.data["errors"]["embedding_model"][0]
    assert unregistered.status_code == 400
    assert "not a registered embedding model" in unregistered.data["errors"]["embedding_model"][0]
    assert moved.status_code == 400 and "manage.py reindex" in moved.data["errors"]["embedding_model"][0]
