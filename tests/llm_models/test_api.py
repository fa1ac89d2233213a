"""/api/llm-models/: create, update, check on save, the test action, and the admin."""

import pytest

from llm_models.models import LanguageModel
from tests.conftest import KEY_ENV

pytestmark = pytest.mark.django_db


def editor(server, **extra):
    return {"name": "editor", "provider": "openai_compatible", "model": "editor-1", "base_url": server.base_url,
            "api_key_env": KEY_ENV, "timeout": 5, "max_tokens": 1024, "context_window": 8192, **extra}  # fmt: skip


def test_create_checks_server_key_and_model_and_never_shows_the_key(staff, api, chat_server):
    created = staff.post("/api/llm-models/", editor(chat_server), format="json")
    unknown = staff.post("/api/llm-models/", editor(chat_server, name="other", model="gpt-x"), format="json")

    assert created.status_code == 201, created.data
    assert created.data["check_error"] == "" and created.data["checked_at"]
    assert unknown.data["check_error"] == f"{chat_server.base_url} does not offer model 'gpt-x' (it offers: editor-1)"
    listing = api.get("/api/llm-models/")
    assert listing.status_code == 200 and {m["name"] for m in listing.data["results"]} == {"editor", "other"}
    assert chat_server.api_key not in listing.content.decode()
    assert not {"base_url", "api_key_env", "check_error"} & set(listing.data["results"][0])  # staff only
    assert staff.get("/api/llm-models/").data["results"][0]["api_key_env"] == KEY_ENV


def test_check_reports_a_rejected_key_an_unset_key_and_an_unreachable_server(staff, chat_server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-wrong-123")
    rejected = staff.post("/api/llm-models/", editor(chat_server), format="json").data
    unset = staff.post("/api/llm-models/", editor(chat_server, name="unset", api_key_env="NO_SUCH_KEY_VAR"),
                       format="json").data  # fmt: skip
    down = staff.post("/api/llm-models/", editor(chat_server, name="down", base_url="http://127.0.0.1:9/v1"),
                      format="json").data  # fmt: skip

    assert rejected["check_error"] == f"{chat_server.base_url} rejected the key from {KEY_ENV} (401)"
    assert unset["check_error"] == "the environment variable NO_SUCH_KEY_VAR is not set here"
    assert down["check_error"].startswith("cannot reach http://127.0.0.1:9/v1")
    assert "sk-wrong-123" not in str([rejected, unset, down])


def test_test_action_sends_a_chat_request_and_times_it(staff, api, chat_server, monkeypatch):
    model_id = staff.post("/api/llm-models/", editor(chat_server), format="json").data["id"]

    ok = staff.post(f"/api/llm-models/{model_id}/test/")
    not_staff = api.post(f"/api/llm-models/{model_id}/test/")
    monkeypatch.setenv(KEY_ENV, "sk-wrong-123")
    refused = staff.post(f"/api/llm-models/{model_id}/test/")

    assert ok.status_code == 200, ok.data
    assert ok.data["ok"] is True and ok.data["reply"] and 0 < ok.data["seconds"] < 5
    assert ok.data["usage"]["requests"] == 1 and ok.data["usage"]["total_tokens"] > 0
    assert not_staff.status_code == 403  # a test request may cost money
    assert refused.status_code == 422
    assert refused.data["error"] == f"the LLM API rejected the key from {KEY_ENV} (401)"


def test_bad_configuration_is_a_400_default_moves_and_only_staff_may_write(staff, api, chat_server):
    no_url = staff.post("/api/llm-models/", {"name": "y", "provider": "openai_compatible", "model": "m"},
                        format="json")  # fmt: skip
    openai_without_key = staff.post("/api/llm-models/", {"name": "o", "provider": "openai", "model": "gpt-4o-mini"},
                                    format="json")  # fmt: skip
    answer_too_long = staff.post("/api/llm-models/", editor(chat_server, max_tokens=5000, context_window=8192),
                                 format="json")  # fmt: skip
    forbidden = api.post("/api/llm-models/", editor(chat_server), format="json")
    first = staff.post("/api/llm-models/", editor(chat_server, is_default=True), format="json").data
    second = staff.post("/api/llm-models/", editor(chat_server, name="second", is_default=True), format="json").data
    patched = staff.patch(f"/api/llm-models/{first['id']}/", {"temperature": 0.7}, format="json")

    assert no_url.status_code == 400 and "base_url" in no_url.data["errors"]
    assert openai_without_key.status_code == 400 and "api_key_env" in openai_without_key.data["errors"]
    assert answer_too_long.status_code == 400 and "max_tokens" in answer_too_long.data["errors"]
    assert forbidden.status_code == 403
    assert list(LanguageModel.objects.filter(is_default=True).values_list("pk", flat=True)) == [second["id"]]
    assert patched.status_code == 200 and patched.data["temperature"] == 0.7


def test_admin_saves_checks_and_tests_a_model(client, django_user_model, chat_server):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(admin)
    form = {**editor(chat_server), "temperature": "0.2", "options": "{}", "description": ""}

    saved = client.post("/admin/llm_models/languagemodel/add/", form, follow=True)
    model = LanguageModel.objects.get(name="editor")
    tested = client.post("/admin/llm_models/languagemodel/",
                         {"action": "test_models", "_selected_action": [model.pk]}, follow=True)  # fmt: skip
    page = client.get(f"/admin/llm_models/languagemodel/{model.pk}/change/").content.decode()

    assert saved.status_code == 200 and model.checked_at is not None and model.check_error == ""
    assert [str(m) for m in tested.context["messages"]][0].startswith("editor: answered")
    assert chat_server.api_key not in page and KEY_ENV in page
