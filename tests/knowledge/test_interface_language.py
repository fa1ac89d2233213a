"""The interface in English and Simplified Chinese: Accept-Language is honoured, the switch
sticks, the page's script gets its words from the JavaScript catalog, and every message of
the committed catalogs is translated."""

from pathlib import Path

import polib
import pytest

from knowledge.translations import LOCALE, compile_all
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def test_a_chinese_browser_gets_the_chinese_page_and_an_english_one_the_english_page(client):
    chinese = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.8").content.decode()

    assert '<html lang="zh-hans">' in chinese and "媒体知识库" in chinese and "用户名" in chinese
    assert '<html lang="en">' in english and "Media knowledge base" in english and "User name" in english


def test_the_language_switch_sticks_over_accept_language(client, user):
    client.force_login(user)

    switched = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"}, HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    catalog = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert switched.status_code == 302 and switched["Location"] == "/"
    assert "把音频或视频文件拖到这里" in page and "自动（检测语言）" in page and 'id="language-switch"' in page
    # the offered languages and the status filter come from the view's lists, translated too
    assert '<option value="zh">中文（普通话）</option>' in page and '<option value="SUCCESS">完成</option>' in page
    assert "\\u4e0a\\u4f20\\u4e2d" in catalog or "上传中" in catalog  # "uploading"


def test_the_admin_speaks_chinese_too(client, django_user_model):
    from knowledge.models import KnowledgeBase

    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    kb = KnowledgeBase.objects.create(name="会议", owner=admin)
    DocumentFactory(knowledge_base=kb, name="周会.wav")
    client.force_login(admin)

    page = client.get("/admin/knowledge/document/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()

    assert "媒体知识库" in page  # ours
    assert "取消所选文档" in page and "重新处理所选的失败或已撤销文档" in page  # our actions
    assert "选择 文档 来修改" in page and "增加" in page  # Django's own words around our model names


def test_every_message_is_translated_and_the_catalogs_compile_without_gettext(tmp_path):
    catalogs = sorted(LOCALE.glob("zh_Hans/LC_MESSAGES/*.po"))
    copy = tmp_path / "zh_Hans" / "LC_MESSAGES"
    copy.mkdir(parents=True)
    for po in catalogs:
        (copy / po.name).write_bytes(po.read_bytes())

    written = compile_all(tmp_path)

    assert [p.name for p in catalogs] == ["django.po", "djangojs.po"]
    for po in catalogs:
        catalog = polib.pofile(str(po))
        assert catalog.percent_translated() == 100 and not catalog.fuzzy_entries(), po
    assert sorted(Path(p).name for p in written) == ["django.mo", "djangojs.mo"]
    assert polib.mofile(str(copy / "django.mo")).find("Media knowledge base").msgstr == "媒体知识库"
    assert compile_all(tmp_path) == []  # up to date: nothing written again


def test_the_admin_form_checks_a_knowledge_bases_language_as_uploads_do():
    from django.utils import translation

    from knowledge.admin import KnowledgeBaseForm

    with translation.override("en"):
        message = KnowledgeBaseForm(data={"name": "x", "language": "klingon", "script": "zh-Hans"}).errors["language"]
    with translation.override("zh-hans"):
        chinese = KnowledgeBaseForm(data={"name": "x", "language": "klingon", "script": "zh-Hans"}).errors["language"]
    good = KnowledgeBaseForm(data={"name": "会议", "language": " ZH ", "script": "zh-Hans", "duplicates": "reuse"})
    auto = KnowledgeBaseForm(data={"name": "talks", "language": "auto", "script": "zh-Hans", "duplicates": "refuse"})
    bad = KnowledgeBaseForm(data={"name": "x", "language": "klingon", "script": "zh-Hans"})

    assert good.is_valid(), good.errors
    assert good.cleaned_data["language"] == "zh" and auto.is_valid() and auto.cleaned_data["language"] == ""
    assert not bad.is_valid() and message == ["Unknown language code; use an ISO 639-1 code such as zh or en."]
    assert chinese == ["未知的语言代码；请使用 ISO 639-1 代码，例如 zh 或 en。"]
