"""The smaller items of the review: Swagger UI from this server, not a CDN; worker host names and
pids for staff only; files and secrets private from the moment they are created; high priority
not free for every editor."""

import re
import stat
from pathlib import Path

import pytest

from knowledge.models import Document, KnowledgeBase, Membership, ProcessingRun, Status
from tests.factories import DocumentFactory
from tests.security.conftest import LiveServer, knowledge_base

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_loads_its_assets_from_this_server(people):
    page = people.alice.get("/api/docs/")

    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert page.status_code == 200 and assets, page.text[:500]
    assert all(url.startswith("/static/") for url in assets), assets
    assert "cdn" not in page.text.lower()
    for url in assets:
        assert people.alice.get(url).status_code == 200, url  # served here (collected static files)


@pytest.fixture(scope="module")
def live(django_db_setup, tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live"), HIGH_PRIORITY_RATE="2/hour")
    yield server
    server.stop()


def test_worker_host_and_pid_are_for_staff_only(people):
    kb = KnowledgeBase.objects.create(name="runs", owner=people.users["alice"])
    Membership.objects.create(knowledge_base=kb, user=people.users["staffer"], role="viewer")
    doc = DocumentFactory(knowledge_base=kb, name="a.mp3", status=Status.FAILURE)
    ProcessingRun.objects.create(document=doc, attempt=1, task_id="t", worker="gpu-box-7 pid 4242", outcome="FAILURE",
                                 error="boom", traceback="Traceback ... /srv/app/runner.py")  # fmt: skip

    seen = people.alice.get(f"/api/knowledge/document/{doc.pk}/")
    staff = people.staffer.get(f"/api/knowledge/document/{doc.pk}/")

    assert seen.status_code == 200 and "gpu-box-7" not in seen.text and "/srv/app" not in seen.text
    assert seen.json()["runs"][0]["error"] == "boom"
    assert staff.json()["runs"][0]["worker"] == "gpu-box-7 pid 4242"


def test_uploads_are_private_from_the_start(people):
    kb = knowledge_base(people.alice, "private")
    upload = people.alice.post(f"/api/knowledge/{kb}/document/", files={"file": ("a.mp3", b"\xff\xfb" * 500)})
    stored = Path(Document.objects.get(pk=upload.json()["documents"][0]["id"]).file.path)
    status = Path(f"/proc/{people.server.proc.pid}/status").read_text()

    assert re.search(r"^Umask:\s+0077$", status, re.MULTILINE), status  # every file the server makes is its own
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700


def test_high_priority_is_a_quota_for_users_and_free_for_staff(people):
    kb = knowledge_base(people.alice, "urgent")
    Membership.objects.create(knowledge_base_id=kb, user=people.users["staffer"], role="editor")

    def upload(client, count: int, priority: str = "high"):
        files = [("file", (f"{i}.mp3", b"\xff\xfb" * 100)) for i in range(count)]
        return client.post(f"/api/knowledge/{kb}/document/", files=files, data={"priority": priority})

    over = upload(people.alice, 3)
    within = upload(people.alice, 2)
    normal = upload(people.alice, 3, "normal")
    staff = upload(people.staffer, 3)

    assert over.status_code == 429 and "HIGH_PRIORITY_RATE" not in over.json()["detail"]
    assert "high priority is limited to 2/hour documents per user" in over.json()["detail"]
    assert [within.status_code, normal.status_code, staff.status_code] == [201, 201, 201]
