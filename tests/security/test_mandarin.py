"""The same defences for a Mandarin recording as for an English one: a Chinese file name keeps its
characters and loses only what could act (a NUL, a right-to-left override), goes into headers
quoted, and arrives intact from a download's Content-Disposition; the recording itself goes
through the guarded paths to a Chinese transcript."""

from urllib.parse import quote

import pytest

from knowledge.models import Status
from tests.conftest import FIXTURES
from tests.security.conftest import knowledge_base
from tests.security.test_names import raw_multipart

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WAV = (FIXTURES / "zh" / "zh_shared_01.wav").read_bytes()  # 今天的例会先回顾上周的进度，然后讨论新版本的发布时间。
NAME = "会议录音.wav"


@pytest.fixture(scope="module")
def live(live_allowing_site):
    return live_allowing_site


def test_a_chinese_file_name_is_kept_cleaned_and_quoted(people, celery_worker):
    kb = knowledge_base(people.alice, "例会")
    body, headers = raw_multipart("会议\u202e录音\x00.wav", WAV, stt_model_id="bundled-base")

    upload = people.alice.post(f"/api/knowledge/{kb}/document/?wait=120", content=body, headers=headers)
    (doc,) = upload.json()["documents"]
    media = people.alice.get(f"/api/knowledge/document/{doc['id']}/media/")
    subtitles = people.alice.get(f"/api/knowledge/document/{doc['id']}/transcript/", params={"format": "srt"})

    assert doc["status"] == Status.SUCCESS and doc["name"] == NAME and doc["language"] == "zh", doc
    assert media.headers["content-type"] == "audio/wav" and media.content == WAV
    assert media.headers["content-disposition"] == f"inline; filename*=utf-8''{quote(NAME)}"
    assert media.headers["content-security-policy"] == "sandbox"
    assert subtitles.headers["content-disposition"] == f"inline; filename*=utf-8''{quote('会议录音.srt')}"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in subtitles.text)  # a Chinese transcript


def test_a_chinese_name_from_a_download_arrives_intact(people, celery_worker, site):
    site.files["/recording"] = (WAV, "audio/wav")
    site.headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(NAME)}"}
    kb = knowledge_base(people.alice, "下载")

    wanted = {"file_url": f"{site.root}/recording", "stt_model_id": "bundled-base"}
    response = people.alice.post(f"/api/knowledge/{kb}/document/?wait=120", json=wanted)

    (doc,) = response.json()["documents"]
    assert doc["status"] == Status.SUCCESS and doc["name"] == NAME and doc["language"] == "zh", doc
    assert doc["size"] == len(WAV) and doc["paragraph_count"] >= 1
