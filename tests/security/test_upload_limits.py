"""Upload limits (item 8): the size limit was per file and checked once the body was on disk, so
one request carried 100 files of 4 GiB. Now the total per request is enforced as the body streams
in (a declared size over it is refused before the body is read), and fewer files are accepted."""

import json
import re
import socket
import time

import pytest

from knowledge.models import Document
from tests.security.conftest import LiveServer, knowledge_base, stored_files

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LIMITS = {"MAX_UPLOAD_SIZE": "1000000", "MAX_UPLOAD_REQUEST_SIZE": "3000000", "MAX_UPLOAD_FILES": "5"}


@pytest.fixture(scope="module")
def live(django_db_setup, tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live"), **LIMITS)
    yield server
    server.stop()


def files(*sizes: int) -> list[tuple[str, tuple[str, bytes]]]:
    return [("file", (f"part{i}.mp3", b"\xff\xfb" * (size // 2))) for i, size in enumerate(sizes)]


def read_response(sock: socket.socket) -> str:
    """One HTTP response, headers and the body its Content-Length announces (they may arrive in
    separate packets)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    while length and len(body) < int(length.group(1)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode("latin-1")


def test_a_request_declaring_more_than_the_total_is_refused_before_its_body_is_read(people):
    kb = knowledge_base(people.alice, "huge")
    head = (f"POST /api/knowledge/{kb}/document/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Token {people.tokens['alice']}\r\nContent-Type: multipart/form-data; boundary=B\r\n"
            f"Content-Length: {100 * 4 * 1024**3}\r\n\r\n")  # fmt: skip
    first_part = b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\n\r\n' + b"\0" * 65536

    with socket.create_connection(("127.0.0.1", people.server.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head.encode() + first_part)  # then nothing: the rest of the 400 GiB never comes
        answer = read_response(sock)
        elapsed = time.monotonic() - started

    status_line, _, rest = answer.partition("\r\n")
    body = json.loads(rest.split("\r\n\r\n", 1)[1])
    assert " 413 " in status_line and elapsed < 5, (status_line, elapsed)
    assert body["code"] == "file_too_large" and "MAX_UPLOAD_REQUEST_SIZE" in body["detail"]


def test_files_together_over_the_total_stop_the_upload_and_store_nothing(people):
    kb = knowledge_base(people.alice, "many")
    before = stored_files()

    response = people.alice.post(f"/api/knowledge/{kb}/document/", files=files(900_000, 900_000, 900_000, 900_000))

    assert response.status_code == 413 and "together are over the limit" in response.json()["detail"], response.text
    assert not Document.objects.exists() and stored_files() == before


def test_one_file_over_the_file_limit_is_named(people):
    kb = knowledge_base(people.alice, "one")

    response = people.alice.post(f"/api/knowledge/{kb}/document/", files=files(500, 1_500_000))

    assert response.status_code == 413
    assert response.json()["detail"] == (
        "larger than the upload limit of 976.6\xa0KB (1000000 bytes, MAX_UPLOAD_SIZE): part1.mp3"
    )
    assert not Document.objects.exists()


def test_more_files_than_allowed_is_a_400(people):
    kb = knowledge_base(people.alice, "count")

    response = people.alice.post(f"/api/knowledge/{kb}/document/", files=files(*[100] * 6))

    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "at most 5 files per upload request (MAX_UPLOAD_FILES)"
    assert not Document.objects.exists()
