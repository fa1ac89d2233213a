"""schemathesis generates requests for every operation in /api/schema/ and sends them to a live
server: no response may be a 500."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from rest_framework.authtoken.models import Token

from knowledge.models import KnowledgeBase, Status
from tests.factories import DocumentFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ST = Path(sys.executable).with_name("st")


def test_schemathesis_finds_no_server_error(live_server, user, speech_models, settings, tmp_path):
    settings.UPLOAD_MAX_WAIT = 0  # generated ?wait= values must not hold the run
    settings.URL_FETCH_TIMEOUT = 5
    kb = KnowledgeBase.objects.create(name="fuzzed", owner=user)
    doc = DocumentFactory.build(knowledge_base=kb, name="a.mp3", status=Status.SUCCESS, owner=user)
    doc.file.save("a.mp3", ContentFile(b"\xff\xfb" * 100), save=True)
    token = Token.objects.create(user=user).key

    done = subprocess.run(
        [str(ST), "run", f"{live_server.url}/api/schema/", "--header", f"Authorization: Token {token}",
         "--checks", "not_a_server_error", "--max-examples", "12", "--request-timeout", "30",
         "--generation-deterministic",
         # /test/ waits for a worker; health has no input and waits a second for worker replies
         # on every call (its own tests cover it)
         "--exclude-path-regex", "(/test/|/api/health/)$",
         "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,  # its cache goes in the cwd
    )  # fmt: skip

    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "No issues found" in output or "passed" in output.lower(), output[-3000:]
