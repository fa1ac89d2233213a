import pytest
from django.core.files.base import ContentFile
from django.db import connection

from knowledge import embeddings, search, vector_index
from knowledge.models import Document, KnowledgeBase, Status
from media_learning.pipeline import index
from media_learning.pipeline.split import ParagraphDraft

TEXTS = {
    "space": [
        "Jupiter is the largest planet in the solar system and has a great red spot.",
        "Saturn has bright rings made of ice and rock.",
    ],
    "kitchen": [
        "Knead the bread dough for ten minutes and let it rise.",
        "Bake the loaf in a hot oven until the crust is golden.",
    ],
}


def make_document(kb, name, texts, doc_status=Status.SUCCESS):
    doc = Document(knowledge_base=kb, name=name, sha256="0" * 64, status=doc_status)
    doc.file.save(f"{name}.mp3", ContentFile(b"x"), save=True)
    drafts = [ParagraphDraft(content=t, start=10.0 * i, end=10.0 * i + 9.5) for i, t in enumerate(texts)]
    model, vectors = index.embed_drafts(drafts)
    index.replace_paragraphs(doc, drafts, model, vectors)
    return doc


@pytest.fixture
def kb(db):
    vector_index.ensure_index(embeddings.model_name(), embeddings.dimensions())
    kb = KnowledgeBase.objects.create(name="search-kb")
    for name, texts in TEXTS.items():
        make_document(kb, name, texts)
    return kb


def test_embeddings_are_unit_length_384_dims():
    vectors = embeddings.embed(["hello world", "another sentence"])

    assert vectors.shape == (2, 384)
    assert abs(float((vectors**2).sum(axis=1)[0]) - 1.0) < 1e-4


def test_search_ranks_the_paragraph_that_means_the_query_first(kb):
    hits = search.search(kb, "which planet has a red storm?", top_k=4)

    first = hits[0].paragraph
    assert first.document.name == "space" and first.position == 0
    assert (first.start, first.end) == (0.0, 9.5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].score > hits[-1].score


def test_search_stays_inside_its_knowledge_base_and_skips_unfinished_documents(kb):
    other = KnowledgeBase.objects.create(name="other")
    make_document(other, "elsewhere", ["Jupiter has a great red spot storm."])
    make_document(kb, "still-running", ["Jupiter red spot storm planet."], doc_status=Status.STARTED)

    hits = search.search(kb, "Jupiter red spot", top_k=10)

    assert {h.paragraph.document.name for h in hits} == {"space", "kitchen"}


def test_replace_paragraphs_replaces_not_appends(kb):
    doc = Document.objects.get(name="kitchen")
    model, vectors = index.embed_drafts([ParagraphDraft("Only one now.", 0, 1)])

    index.replace_paragraphs(doc, [ParagraphDraft("Only one now.", 0, 1)], model, vectors)

    assert list(doc.paragraphs.values_list("content", flat=True)) == ["Only one now."]


def test_partial_hnsw_index_exists_and_is_used_by_the_search_query(kb):
    model = embeddings.model_name()
    name = vector_index.index_name(model, 384)
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        (indexdef,) = cur.fetchone()
        vector = "[" + ",".join(["0.05"] * 384) + "]"
        cur.execute("SET enable_seqscan = off")
        cur.execute(
            "EXPLAIN SELECT id FROM knowledge_paragraph WHERE embedding_model = %s "
            f"ORDER BY {vector_index.cast_sql(384)} <=> %s::vector(384) LIMIT 5",
            [model, vector],
        )
        plan = "\n".join(row[0] for row in cur.fetchall())
        cur.execute("RESET enable_seqscan")

    assert "USING hnsw (((embedding)::vector(384)) vector_cosine_ops)" in indexdef
    assert f"WHERE ((embedding_model)::text = '{model}'::text)" in indexdef
    assert name in plan
