"""The model registries (item 2): a staff user without model permissions could register a
speech model whose base_url was their server and whose api_key_env named any server variable;
the variable's value was sent to them, and as the default model it received other users' audio."""

import pytest
from django.contrib.auth.models import Permission

from llm_models.models import LanguageModel
from stt_models.models import SpeechModel
from tests.conftest import REGISTRY_PERMISSIONS, fixture_path
from tests.security.attacker import RecordingServer
from tests.security.conftest import LiveServer, knowledge_base

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SERVER_SECRET = "db-password-7f3a9c"  # a variable of the server that no model may name
OPENAI_KEY = "sk-live-openai-41d2"
LAN_KEY = "lan-key-0b5e"


@pytest.fixture(scope="module")
def attacker():
    with RecordingServer() as server:
        yield server


@pytest.fixture(scope="module")
def lan():
    """The operator's private model server (a LAN vLLM), which MODEL_URL_ALLOWLIST admits."""
    with RecordingServer(host="127.0.0.2") as server:
        yield server


def rules(lan) -> dict[str, str]:
    return {"MODEL_URL_ALLOWLIST": f"127.0.0.2:{lan.port}",
            "MODEL_API_KEY_ENVS": f"OPENAI_API_KEY=https://api.openai.com/,LAN_KEY={lan.base_url}"}  # fmt: skip


@pytest.fixture(scope="module")
def live(django_db_setup, tmp_path_factory, lan):
    server = LiveServer(tmp_path_factory.mktemp("live"), SERVER_SECRET=SERVER_SECRET, OPENAI_API_KEY=OPENAI_KEY,
                        LAN_KEY=LAN_KEY, **rules(lan))  # fmt: skip
    yield server
    server.stop()


def remote_stt(base_url, key_env, **extra):
    return {"name": "fast-cloud", "provider": "openai_compatible", "model": "whisper-1", "base_url": base_url,
            "api_key_env": key_env, **extra}  # fmt: skip


def remote_llm(base_url, key_env):
    return {"name": "smart", "provider": "openai_compatible", "model": "chat-1", "base_url": base_url,
            "api_key_env": key_env}  # fmt: skip


def grant_registry_permissions(user):
    user.user_permissions.set(Permission.objects.filter(codename__in=REGISTRY_PERMISSIONS))


def test_staff_without_model_permissions_cannot_write_either_registry(people, attacker):
    tiny = SpeechModel.objects.get(name="bundled-tiny-en")

    answers = [
        people.staffer.post("/api/stt-models/", json=remote_stt(attacker.base_url, "SERVER_SECRET", is_default=True)),
        people.staffer.post("/api/llm-models/", json=remote_llm(attacker.base_url, "SERVER_SECRET")),
        people.staffer.patch(f"/api/stt-models/{tiny.pk}/", json={"model": "bundled:base"}),
        people.staffer.post(f"/api/stt-models/{tiny.pk}/test/"),
        people.alice.post("/api/stt-models/", json=remote_stt(attacker.base_url, "SERVER_SECRET")),
    ]

    assert [a.status_code for a in answers] == [403] * 5, [a.text for a in answers]
    assert not SpeechModel.objects.filter(name="fast-cloud").exists() and not LanguageModel.objects.exists()
    assert SpeechModel.objects.get(pk=tiny.pk).model == "bundled:tiny.en"
    assert attacker.requests == []


def test_a_model_may_name_only_allowed_servers_and_the_key_variables_listed_for_them(people, attacker, lan):
    grant_registry_permissions(people.users["staffer"])
    client = people.staffer

    to_attacker = client.post("/api/stt-models/", json=remote_stt(attacker.base_url, ""))
    server_variable = client.post("/api/stt-models/", json=remote_stt(lan.base_url, "SERVER_SECRET"))
    openai_key_elsewhere = client.post("/api/llm-models/", json=remote_llm(lan.base_url, "OPENAI_API_KEY"))
    metadata = client.post("/api/llm-models/", json=remote_llm("http://169.254.169.254/v1", ""))
    allowed = client.post("/api/stt-models/", json=remote_stt(lan.base_url, "LAN_KEY"))

    assert to_attacker.status_code == 400 and "not a public address" in to_attacker.json()["errors"]["base_url"][0]
    assert (
        server_variable.status_code == 400
        and "MODEL_API_KEY_ENVS" in server_variable.json()["errors"]["api_key_env"][0]
    )
    assert openai_key_elsewhere.status_code == 400
    assert "only for servers under https://api.openai.com/" in openai_key_elsewhere.json()["errors"]["api_key_env"][0]
    assert metadata.status_code == 400 and "169.254.169.254" in metadata.json()["errors"]["base_url"][0]
    assert allowed.status_code == 201 and allowed.json()["check_error"] == "", allowed.text
    assert attacker.requests == []
    assert lan.saw(f"Bearer {LAN_KEY}") and not lan.saw(SERVER_SECRET) and not lan.saw(OPENAI_KEY)


def test_only_staff_see_where_a_model_sends_data(people, lan):
    SpeechModel.objects.create(**remote_stt(lan.base_url, "LAN_KEY"), check_error=f"{lan.base_url} answered 500")

    seen_by_user = {m["name"]: m for m in people.alice.get("/api/stt-models/").json()["results"]}["fast-cloud"]
    seen_by_staff = {m["name"]: m for m in people.staffer.get("/api/stt-models/").json()["results"]}["fast-cloud"]

    assert not {"base_url", "api_key_env", "check_error"} & set(seen_by_user)
    assert seen_by_staff["base_url"] == lan.base_url and seen_by_staff["api_key_env"] == "LAN_KEY"


def test_a_model_saved_before_the_rules_changed_sends_nothing_to_its_server(
    people, attacker, lan, celery_worker, settings, monkeypatch
):
    settings.MODEL_URL_ALLOWLIST, settings.MODEL_API_KEY_ENVS = (rules(lan)[k].split(",") for k in rules(lan))
    monkeypatch.setenv("SERVER_SECRET", SERVER_SECRET)  # the suite's worker runs in this process
    # rows written when other rules held (or straight into the database): clean() never ran
    SpeechModel.objects.create(**remote_stt(attacker.base_url, "SERVER_SECRET"))
    LanguageModel.objects.create(**remote_llm(attacker.base_url, "SERVER_SECRET"))
    kb = knowledge_base(people.alice, "meetings")
    audio = fixture_path("jupiter_en.mp3").read_bytes()

    def upload(**models: str) -> dict:
        files = {"file": ("a.mp3", audio)}
        response = people.alice.post(f"/api/knowledge/{kb}/document/?wait=120", files=files, data=models)
        return response.json()["documents"][0]

    stt = upload(stt_model_id="fast-cloud")
    llm = upload(stt_model_id="bundled-tiny-en", llm_model_id="smart")

    assert stt["status"] == "FAILURE" and "not allowed" in stt["error"] and "not a public address" in stt["error"]
    assert llm["status"] == "SUCCESS" and any("not allowed" in w for w in llm["warnings"]), llm["warnings"]
    assert attacker.requests == []
