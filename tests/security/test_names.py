"""Names are data (item 11): a NUL in a file name was a 500 that left the stored file behind,
each time. Every name loses its control and format characters, and a document that cannot be
created takes its stored files with it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.ingest import create_documents
from knowledge.models import Document, KnowledgeBase, Status
from tests.conftest import fixture_path
from tests.security.conftest import knowledge_base, stored_files

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MP3 = fixture_path("jupiter_en.mp3").read_bytes()
# NUL, vertical tab, an escape sequence and a right-to-left override, raw in the part's header
HOSTILE = "re\x00port\x0bX-Evil: 1\x1b[31m\u202egpm.exe.mp3"


def raw_multipart(filename: str, data: bytes, **fields: str) -> tuple[bytes, dict[str, str]]:
    """A multipart body as an attacker writes it (clients percent-encode NUL and line breaks)."""
    parts = [f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    head = f'--B\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n\r\n'.encode()
    return b"".join(parts) + head + data + b"\r\n--B--\r\n", {"Content-Type": "multipart/form-data; boundary=B"}


@pytest.fixture(scope="module")
def live(live_allowing_site):
    return live_allowing_site


def test_upload_names_lose_control_and_format_characters(people):
    kb = knowledge_base(people.alice, "names")
    before = stored_files()

    body, headers = raw_multipart(HOSTILE, MP3)
    upload = people.alice.post(f"/api/knowledge/{kb}/document/", content=body, headers=headers)

    assert upload.status_code == 201, upload.text
    (doc,) = upload.json()["documents"]
    # NUL, the escape and the override are gone (Django's parser already drops the vertical tab)
    assert doc["name"].replace(" ", "") == "reportX-Evil:1[31mgpm.exe.mp3", doc["name"]
    assert len(stored_files() - before) == 1


def test_a_downloaded_file_name_with_a_nul_is_cleaned_and_nothing_is_orphaned(people, celery_worker, site):
    site.files["/get"] = (MP3, "audio/mpeg")
    site.headers = {"Content-Disposition": "attachment; filename*=UTF-8''a%00b%0D%0Ac%E2%80%AE.mp3"}
    kb = knowledge_base(people.alice, "downloads")
    before = stored_files()

    response = people.alice.post(f"/api/knowledge/{kb}/document/?wait=120", json={"file_url": f"{site.root}/get"})

    (doc,) = response.json()["documents"]
    assert doc["status"] == Status.SUCCESS and doc["name"] == "ab c.mp3", doc
    assert len(stored_files() - before) == 1


def test_a_document_that_cannot_be_created_takes_its_stored_files_with_it(user, speech_models):
    kb = KnowledgeBase.objects.create(name="going", owner=user)
    KnowledgeBase.objects.filter(pk=kb.pk).delete()  # deleted by its owner while the upload was on its way
    before = stored_files()

    with pytest.raises(Exception, match="knowledge_base"):
        create_documents(kb, [SimpleUploadedFile("a.mp3", MP3), SimpleUploadedFile("b.mp3", MP3)],
                         stt_model=speech_models["bundled-tiny-en"])  # fmt: skip

    assert stored_files() == before and not Document.objects.exists()
