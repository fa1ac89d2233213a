"""Every API route refuses anonymous users, and another user's objects do not exist (404) for
someone who was not granted a role; roles decide what a member may do."""

from pathlib import Path

import pytest
import yaml
from django.core.files.base import ContentFile
from django.core.management import call_command
from rest_framework.test import APIClient

from knowledge.models import Document, KnowledgeBase, Membership, Paragraph, Role, Status
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

# Routes that are not per-user objects: the model registries are shared (writes need the model
# permissions), the schema describes the API, health answers load balancers with its status only,
# and the token endpoint is where a user signs in.
SHARED = {"/api/health/", "/api/schema/", "/api/llm-models/", "/api/llm-models/{id}/", "/api/llm-models/{id}/test/",
          "/api/stt-models/", "/api/stt-models/{id}/", "/api/stt-models/{id}/test/", "/api/auth/token/"}  # fmt: skip


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def alice_kb(user, speech_models):
    kb = KnowledgeBase.objects.create(name="alice's talks", owner=user, callback_url="https://example.com/hook")
    doc = DocumentFactory.build(knowledge_base=kb, name="talk.mp3", status=Status.SUCCESS, owner=user)
    doc.file.save("talk.mp3", ContentFile(b"ID3 not really audio"), save=False)
    doc.save()
    Paragraph.objects.create(document=doc, knowledge_base=kb, position=0, content="hello", start=0, end=1)
    return kb, doc


def api_routes(tmp_path) -> dict[str, list[str]]:
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    return {path: sorted(m for m in ops if m != "parameters") for path, ops in paths.items()}


def test_every_route_refuses_anonymous_users(tmp_path, alice_kb):
    kb, doc = alice_kb
    anonymous = APIClient()

    answers = {}
    for path, methods in api_routes(tmp_path).items():
        url = path.format(kb_id=kb.pk, id=doc.pk, username="bob")
        for method in methods:
            answers[f"{method.upper()} {path}"] = getattr(anonymous, method)(url).status_code

    health = answers.pop("GET /api/health/")
    sign_in = answers.pop("POST /api/auth/token/")
    assert health in (200, 503) and sign_in == 400  # no credentials: nothing to sign in with
    assert len(answers) > 30 and {k: v for k, v in answers.items() if v != 401} == {}


def test_another_users_objects_answer_404_on_every_route(tmp_path, alice_kb, django_user_model):
    kb, doc = alice_kb
    bob = client_for(django_user_model.objects.create_user("bob", password="pw-bob-123"))

    answers = {}
    for path, methods in api_routes(tmp_path).items():
        if path in SHARED:
            continue
        url = path.format(kb_id=kb.pk, id=doc.pk, username="alice")
        for method in methods:
            answers[f"{method.upper()} {path}"] = getattr(bob, method)(url, {}, format="json").status_code
    listed = bob.get("/api/knowledge/").data["count"], bob.get("/api/knowledge/document/").data["count"]
    upload_into_alices = bob.post("/api/knowledge/document/", {"knowledge": kb.pk, "file_url": "https://x.test/a.mp3"},
                                  format="json")  # fmt: skip

    object_routes = {k: v for k, v in answers.items() if "{" in k}
    assert len(object_routes) >= 18 and {k: v for k, v in object_routes.items() if v != 404} == {}
    assert listed == (0, 0) and upload_into_alices.status_code == 404
    assert Document.objects.count() == 1 and KnowledgeBase.objects.get(pk=kb.pk).name == "alice's talks"


def test_roles_decide_what_members_may_do(alice_kb, django_user_model, django_capture_on_commit_callbacks):
    kb, doc = alice_kb
    viewer_user = django_user_model.objects.create_user("vera", password="pw-vera-123")
    editor_user = django_user_model.objects.create_user("ed", password="pw-ed-123")
    owner = client_for(kb.owner)

    granted = [owner.post(f"/api/knowledge/{kb.pk}/members/", {"username": u.username, "role": role}, format="json")
               for u, role in ((viewer_user, Role.VIEWER), (editor_user, Role.EDITOR))]  # fmt: skip
    viewer, editor = client_for(viewer_user), client_for(editor_user)

    assert [g.status_code for g in granted] == [202, 202]
    assert viewer.get(f"/api/knowledge/{kb.pk}/").data["role"] == "viewer"
    assert viewer.get(f"/api/knowledge/document/{doc.pk}/paragraphs/").data["results"][0]["content"] == "hello"
    assert viewer.get(f"/api/knowledge/document/{doc.pk}/media/").status_code == 200
    refused = [
        viewer.post(f"/api/knowledge/document/{doc.pk}/reprocess/"),
        viewer.delete(f"/api/knowledge/document/{doc.pk}/"),
        viewer.post(f"/api/knowledge/{kb.pk}/document/", {"file_url": "https://x.test/a.mp3"}, format="json"),
        editor.patch(f"/api/knowledge/{kb.pk}/", {"name": "mine now"}, format="json"),
        editor.get(f"/api/knowledge/{kb.pk}/members/"),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert refused[0].data["code"] == "permission_denied" and "editor role" in refused[0].data["detail"]
    original = Path(doc.file.path)
    with django_capture_on_commit_callbacks(execute=True):  # the file goes once the deletion commits
        deleted = editor.delete(f"/api/knowledge/document/{doc.pk}/")
    assert deleted.status_code == 204
    assert not Document.objects.filter(pk=doc.pk).exists() and not Paragraph.objects.filter(document_id=doc.pk).exists()
    assert not original.exists()  # the original file goes with the document
    assert owner.delete(f"/api/knowledge/{kb.pk}/members/vera/").status_code == 204
    assert viewer.get(f"/api/knowledge/{kb.pk}/").status_code == 404
    assert list(Membership.objects.values_list("user__username", flat=True)) == ["ed"]


def test_webhook_secret_is_write_only(alice_kb):
    kb, _ = alice_kb
    owner = client_for(kb.owner)

    changed = owner.patch(f"/api/knowledge/{kb.pk}/", {"webhook_secret": "my-own-secret-123456"}, format="json")
    listed = owner.get("/api/knowledge/")

    kb.refresh_from_db()
    assert changed.status_code == 200 and kb.webhook_secret == "my-own-secret-123456"
    assert "webhook_secret" not in changed.data and "my-own-secret" not in listed.content.decode()


def test_unknown_api_route_and_method_answer_json(api):
    missing = api.get("/api/no-such-thing/")
    wrong_method = api.put("/api/knowledge/")

    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"


def test_stored_names_are_generated_and_traversal_names_are_only_data(api, user, speech_models):
    kb = KnowledgeBase.objects.create(name="k", owner=user)
    from django.core.files.uploadedfile import SimpleUploadedFile

    traversal = SimpleUploadedFile("../../../etc/passwd.php", b"not media")
    response = api.post(f"/api/knowledge/{kb.pk}/document/", {"file": traversal}, format="multipart")

    doc = Document.objects.get(pk=response.data["documents"][0]["id"])
    assert response.status_code == 201 and doc.name == "passwd.php"
    stored = doc.file.path
    assert stored.startswith(str(doc.file.storage.location)) and "passwd" not in stored
    assert len(doc.file.name.rsplit("/", 1)[1]) == 32  # a uuid, no ".php"


def test_listing_knowledge_bases_reads_each_role_without_a_query_per_row(user, django_user_model,
                                                                          django_assert_max_num_queries):  # fmt: skip
    member = django_user_model.objects.create_user("mia", password="pw-mia-123")
    roles = [Role.VIEWER, Role.EDITOR, Role.OWNER, Role.VIEWER, Role.EDITOR]
    for i, role in enumerate(roles):
        kb = KnowledgeBase.objects.create(name=f"shared {i}", owner=user)
        Membership.objects.create(knowledge_base=kb, user=member, role=role)
    KnowledgeBase.objects.create(name="mia's own", owner=member)
    KnowledgeBase.objects.create(name="not shared", owner=user)
    client = client_for(member)

    with django_assert_max_num_queries(4):  # the session user, the count, the page: not one per row
        listed = client.get("/api/knowledge/?page_size=50").data

    assert {kb["name"]: kb["role"] for kb in listed["results"]} == {
        **{f"shared {i}": str(role) for i, role in enumerate(roles)},
        "mia's own": "owner",
    }
