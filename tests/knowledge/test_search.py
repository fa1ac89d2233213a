import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import connection

from knowledge import embeddings, kb_embedding, search, vector_index
from knowledge.models import Document, KnowledgeBase, Status
from media_learning.pipeline import index
from media_learning.pipeline.split import ParagraphDraft
from tests.factories import DocumentFactory

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
    doc = DocumentFactory.build(knowledge_base=kb, name=name, status=doc_status)
    doc.file.save(f"{name}.mp3", ContentFile(b"x"), save=True)
    drafts = [ParagraphDraft(content=t, start=10.0 * i, end=10.0 * i + 9.5) for i, t in enumerate(texts)]
    model, vectors = index.embed_drafts(doc, drafts)
    index.replace_paragraphs(doc, drafts, model, vectors)
    return doc


@pytest.fixture
def kb(db):
    vector_index.ensure_index(embeddings.model_name(), embeddings.dimensions())
    kb = KnowledgeBase.objects.create(name="search-kb")
    for name, texts in TEXTS.items():
        make_document(kb, name, texts)
    return kb


def test_embeddings_of_the_multilingual_default_are_unit_length_512_dims():
    vectors = embeddings.embed(["hello world", "另一个句子"])

    assert embeddings.model_name() == embeddings.MULTILINGUAL
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32
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
    model, vectors = index.embed_drafts(doc, [ParagraphDraft("Only one now.", 0, 1)])

    index.replace_paragraphs(doc, [ParagraphDraft("Only one now.", 0, 1)], model, vectors)

    assert list(doc.paragraphs.values_list("content", flat=True)) == ["Only one now."]


def test_new_paragraphs_get_their_model_with_their_search_vectors_and_are_found(kb):
    """replace_paragraphs writes the rows without the model's name (outside its partial HNSW
    index) and names them in the UPDATE that stores their search vectors: one graph insert each."""
    doc = Document.objects.get(name="kitchen")
    drafts = [
        ParagraphDraft("Saturn's rings are made of ice and rock.", 0, 4),
        ParagraphDraft("烤面包需要两个小时。", 4, 8),
    ]
    model, vectors = index.embed_drafts(doc, drafts)

    index.replace_paragraphs(doc, drafts, model, vectors)

    rows = list(doc.paragraphs.order_by("position").values_list("embedding_model", "search_vector"))
    assert [m for m, _ in rows] == [model, model] and all(v for _, v in rows)
    [hit] = search.vector_search(kb, "what are the rings of Saturn made of?", 1)
    assert hit.paragraph.document_id == doc.pk and hit.paragraph.position == 0
    [hit] = search.keyword_search(kb, "面包", 1)
    assert hit.paragraph.document_id == doc.pk and hit.paragraph.position == 1


def test_partial_hnsw_index_exists_and_is_used_by_the_search_query(kb):
    model, dims = embeddings.model_name(), embeddings.dimensions()
    name = vector_index.index_name(model, dims)
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        (indexdef,) = cur.fetchone()
        vector = "[" + ",".join(["0.05"] * dims) + "]"
        cur.execute("SET enable_seqscan = off")
        cur.execute(
            "EXPLAIN SELECT id FROM knowledge_paragraph WHERE embedding_model = %s "
            f"ORDER BY {vector_index.cast_sql(dims)} <=> {vector_index.cast_sql(dims, '%s')} LIMIT 5",
            [model, vector],
        )
        plan = "\n".join(row[0] for row in cur.fetchall())
        cur.execute("RESET enable_seqscan")

    assert f"USING hnsw (((embedding)::halfvec({dims})) halfvec_cosine_ops)" in indexdef
    assert f"WHERE ((embedding_model)::text = '{model}'::text)" in indexdef
    assert name in plan


@pytest.fixture
def mixed_kb(kb):
    make_document(kb, "network", ["The router showed error code XJ-4471 after the firmware update.",
                                  "Restarting the modem usually brings the connection back."])  # fmt: skip
    make_document(
        kb, "中文", ["向量数据库把句子变成一串数字，用来比较意思是否相近。", "做面包时要先揉面十分钟，然后让面团发酵。"]
    )
    return kb


def test_keyword_search_finds_exact_codes_stems_and_chinese_words(mixed_kb):
    code = search.search(mixed_kb, "XJ-4471", mode="keyword")
    stem = search.search(mixed_kb, "kneading", mode="keyword")
    chinese = search.search(mixed_kb, "数据库", mode="keyword")
    dough = search.search(mixed_kb, "怎么揉面", mode="keyword")
    nothing = search.search(mixed_kb, "?!", mode="keyword")

    assert [h.paragraph.content for h in code] == ["The router showed error code XJ-4471 after the firmware update."]
    assert stem[0].paragraph.content.startswith("Knead the bread dough")
    assert chinese[0].paragraph.content.startswith("向量数据库") and len(chinese) == 1
    assert dough[0].paragraph.content.startswith("做面包时要先揉面")
    assert nothing == [] and all(h.keyword_score > 0 and h.vector_score is None for h in code + stem)


def test_hybrid_adds_a_share_of_the_keyword_score_to_the_cosine(mixed_kb):
    query = "router error XJ-4471"
    hybrid = search.search(mixed_kb, query, top_k=5)
    vector = search.search(mixed_kb, query, top_k=50, mode="vector")
    keyword = search.search(mixed_kb, query, top_k=50, mode="keyword")

    top = hybrid[0]
    assert top.paragraph.content.startswith("The router showed error code XJ-4471")
    cosine = {h.paragraph.pk: h.score for h in vector}[top.paragraph.pk]
    best_bm25 = max(h.score for h in keyword)
    bm25 = {h.paragraph.pk: h.score for h in keyword}[top.paragraph.pk]
    assert top.score == pytest.approx(cosine + search.KEYWORD_WEIGHT * bm25 / best_bm25)
    assert top.vector_score is not None and top.keyword_score is not None
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)
    # a paragraph only one ranking found still takes part
    assert {h.paragraph.pk for h in hybrid} <= {h.paragraph.pk for h in vector} | {h.paragraph.pk for h in keyword}


def test_search_api_takes_a_mode_and_shows_both_scores(mixed_kb, api, user):
    KnowledgeBase.objects.filter(pk=mixed_kb.pk).update(owner=user)
    url = f"/api/knowledge/{mixed_kb.pk}/search/"

    hybrid = api.get(url, {"q": "XJ-4471 firmware", "top_k": 3}).data
    keyword = api.get(url, {"q": "揉面", "mode": "keyword"}).data
    bad = api.get(url, {"q": "x", "mode": "fuzzy"})

    assert hybrid[0]["content"].startswith("The router") and hybrid[0]["keyword_score"] > 0
    assert hybrid[0]["vector_score"] is not None and hybrid[0]["kind"] == "transcript"
    assert [h["document_name"] for h in keyword] == ["中文"]
    assert bad.status_code == 400 and "mode" in bad.data["errors"] and bad.data["code"] == "invalid"


def test_keyword_ranking_is_bm25_over_postings_kept_with_their_paragraphs(kb):
    from knowledge import text_search
    from knowledge.models import Paragraph, Posting

    text_search.forget_stats()
    rare = make_document(kb, "bm25", ["Dough dough dough: the dough is the thing.", "One mention of dough here."])
    postings = Posting.objects.filter(paragraph__document=rare)
    lengths = dict(postings.filter(term="").values_list("paragraph_id", "length"))
    assert postings.filter(term="dough").count() == 2 and len(lengths) == 2
    assert sorted(postings.filter(term="dough").values_list("tf", flat=True)) == [1.0, 4.0]
    count, mean = text_search.corpus_stats(kb.pk)
    assert count == Paragraph.objects.filter(knowledge_base=kb).count() == 6 and mean > 1

    ranking = search.keyword_ranking(kb, "dough", 10)
    by_id = dict(Paragraph.objects.filter(pk__in=[pk for pk, _ in ranking]).values_list("pk", "content"))
    # more occurrences rank higher; the kitchen paragraph ("Knead the bread dough") also matches
    assert [by_id[pk] for pk, _ in ranking][0].startswith("Dough dough dough")
    assert len(ranking) == 3 and all(a[1] >= b[1] > 0 for a, b in zip(ranking, ranking[1:], strict=False))
    # a rarer word weighs more (idf): "saturn" is in one paragraph, "dough" in three
    mixed = [
        by_id.get(pk) or Paragraph.objects.get(pk=pk).content
        for pk, _ in search.keyword_ranking(kb, "saturn dough", 10)
    ]
    assert mixed.index("Saturn has bright rings made of ice and rock.") < mixed.index("One mention of dough here.")
    assert search.keyword_ranking(kb, "the", 10) == []  # a stop word alone finds nothing

    rare.delete()  # the database drops the postings with the paragraphs
    assert not Posting.objects.filter(paragraph_id__in=list(lengths)).exists()


def test_bm25_scores_are_okapi_bm25_as_computed_by_hand(kb):
    """The SQL's scores, term by term: idf = ln(1 + (N - n + 0.5) / (n + 0.5)) and
    tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / mean length)), summed over the terms."""
    import math

    from knowledge import text_search
    from knowledge.models import Posting

    text_search.forget_stats()
    doc = make_document(kb, "bm25", ["Dough dough dough: the dough is the thing.", "One mention of dough and rings."])
    count, mean = text_search.corpus_stats(kb.pk)
    postings = list(Posting.objects.filter(knowledge_base_id=kb.pk, term__in=["dough", "ring"]).values())
    df = {term: sum(p["term"] == term for p in postings) for term in ("dough", "ring")}
    expected: dict[int, float] = {}
    for p in postings:
        idf = math.log(1 + (count - df[p["term"]] + 0.5) / (df[p["term"]] + 0.5))
        norm = text_search.K1 * (1 - text_search.B + text_search.B * p["length"] / mean)
        expected[p["paragraph_id"]] = expected.get(p["paragraph_id"], 0.0) + idf * p["tf"] * (text_search.K1 + 1) / (
            p["tf"] + norm
        )

    ranking = search.keyword_ranking(kb, "dough rings", 10)

    assert df == {"dough": 3, "ring": 2} and len(ranking) == 4
    assert dict(ranking) == pytest.approx(expected, rel=1e-9)
    assert [pk for pk, _ in ranking] == sorted(expected, key=lambda pk: (-expected[pk], pk))
    # limited to one document, a paragraph scores as it does in the whole knowledge base
    limited = dict(search.keyword_ranking(kb, "dough rings", 10, documents=[doc.pk]))
    assert set(limited) == set(doc.paragraphs.values_list("pk", flat=True))
    assert limited == pytest.approx({pk: expected[pk] for pk in limited}, rel=1e-9)


def test_a_terms_paragraph_count_is_counted_once_and_kept_for_a_while(kb, monkeypatch):
    """idf's paragraph counts come from the postings, stemmed as the paragraphs were, and are
    kept per process for STATS_SECONDS (as the corpus statistics are), then counted again."""
    from knowledge import text_search
    from knowledge.models import Posting

    def held(term):  # paragraphs of the knowledge base holding the term, from the postings themselves
        return Posting.objects.filter(knowledge_base_id=kb.pk, term=term).count()

    text_search.forget_stats()
    make_document(kb, "bakery", ["Kneading the dough.", "The doughs rest overnight.", "Ovens and bread."])
    terms = text_search.query_terms(["kneaded", "doughs", "the"], [])
    assert terms == ["dough", "knead"]  # PostgreSQL's english stemming, stop words dropped
    make_document(kb, "会议", ["发布日期定在十二月。", "發布會在下午。"])  # either script meets the other
    chinese = text_search.query_terms(*text_search.split_terms("发布"))
    assert chinese == ["发布"] and text_search.term_counts(kb.pk, chinese) == {"发布": held("发布")} == {"发布": 2}
    before = {"dough": held("dough"), "knead": held("knead")}
    assert before["dough"] >= 2 and before["knead"] >= 1
    assert text_search.term_counts(kb.pk, terms) == before

    make_document(kb, "more", ["More dough."])
    assert held("dough") == before["dough"] + 1
    assert text_search.term_counts(kb.pk, ["dough"]) == {"dough": before["dough"]}  # kept
    monkeypatch.setattr(text_search, "STATS_SECONDS", 0.0)
    assert text_search.term_counts(kb.pk, ["dough"]) == {"dough": before["dough"] + 1}  # counted again when old


def test_vector_queries_search_with_the_sessions_hnsw_settings_or_set_their_own(kb, settings, monkeypatch):
    """Each connection takes ef_search and the iterative scan once for its session; with
    SEARCH_SESSION_SETTINGS off (a pooler that shares sessions) each query sets them in its own
    transaction, and both rank alike."""
    vector = search.query_vector(kb, "which planet has rings?", kb_embedding_model(kb))
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan')")
        assert cur.fetchone() == (str(vector_index.EF_SEARCH), "relaxed_order")
    assert vector_index.session_ready(vector_index.EF_SEARCH)
    assert not vector_index.session_ready(vector_index.EF_SEARCH + 1)  # a deeper search sets its own
    with_session = search.vector_ranking(kb, vector, 3)
    deep = search.vector_ranking(kb, vector, vector_index.EF_SEARCH)  # ef_search 400, in a transaction

    # A connection made with the setting off: nothing set for the session.
    settings.SEARCH_SESSION_SETTINGS = False
    monkeypatch.delattr(connection, "hnsw_session")
    with connection.cursor() as cur:
        cur.execute("RESET hnsw.ef_search")  # (inside the test's transaction: undone after it)
        cur.execute("RESET hnsw.iterative_scan")
    vector_index.configure_session(None, connection)
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan')")
        assert cur.fetchone() == ("40", "off")  # pgvector's defaults
    assert not vector_index.session_ready(vector_index.EF_SEARCH)
    own = search.vector_ranking(kb, vector, 3)

    assert [pk for pk, _ in own] == [pk for pk, _ in with_session] and own
    assert [pk for pk, _ in deep[:3]] == [pk for pk, _ in with_session]


def test_the_default_model_searches_with_the_session_and_a_model_that_wants_more_sets_its_own(kb, monkeypatch):
    """The session's ef_search is the default model's; MiniLM's (200: its recall at 100 was
    0.924) is set for its query alone."""
    assert embeddings.describe(embeddings.model_name()).ef_search == vector_index.EF_SEARCH
    assert embeddings.describe(embeddings.MINILM).ef_search > vector_index.EF_SEARCH
    set_to: list[str] = []
    real = vector_index.set_local

    def spy(cur, ef_search):
        with connection.cursor() as c:
            real(cur, ef_search)
            c.execute("SELECT current_setting('hnsw.ef_search')")
            set_to.append(c.fetchone()[0])

    monkeypatch.setattr(vector_index, "set_local", spy)
    vector = search.query_vector(kb, "which planet has rings?", kb_embedding_model(kb))
    assert kb_embedding_model(kb) == embeddings.model_name()
    assert search.vector_ranking(kb, vector, 3) and set_to == []
    monkeypatch.setattr(kb_embedding, "model_of", lambda _kb: embeddings.MINILM)
    search.vector_ranking(kb, vector, 3)  # no MiniLM rows here: only the settings are looked at
    assert set_to == [str(embeddings.describe(embeddings.MINILM).ef_search)]


def kb_embedding_model(kb) -> str:
    from knowledge import kb_embedding

    return kb_embedding.model_of(kb)


def test_hits_read_their_rows_and_documents_in_one_query(kb, django_assert_num_queries):
    ranking = search.keyword_ranking(kb, "bread dough oven", 5)

    with django_assert_num_queries(1):
        rows = search.load_rows(ranking)
        shown = [(p.document.name, p.position, p.start, p.end, p.content, p.speaker) for p in rows.values()]

    assert set(rows) == {pk for pk, _ in ranking} and len(rows) == 2
    assert {name for name, *_ in shown} == {"kitchen"}
    assert all(p.document.file.name.startswith("documents/") or p.document.file.name for p in rows.values())
    paragraph = next(iter(rows.values()))
    assert paragraph.raw_content == "" and paragraph.document.status == Status.SUCCESS  # the rest loads on use
    assert search.load_rows([]) == {}
