"""A batch of bad inputs beside a good file: each ends FAILURE with a clear one-line reason, or
SUCCESS where the input is valid, and nothing else in the batch is affected."""

from __future__ import annotations

import random
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.models import Document, Status
from tests.conftest import fixture_path, wait_for_documents

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wav(samples: np.ndarray, *, fmt_tag: int = 1, declared: int | None = None) -> bytes:
    """A 16 kHz mono 16-bit WAV; ``fmt_tag`` other than 1 names a codec nobody decodes, and
    ``declared`` makes the header claim that many bytes of audio."""
    data = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    size = len(data) if declared is None else declared
    fmt = struct.pack("<IHHIIHH", 16, fmt_tag, 1, 16000, 32000, 2, 16)
    return b"RIFF" + struct.pack("<I", 36 + size) + b"WAVE" + b"fmt " + fmt + b"data" + struct.pack("<I", size) + data


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b"")


def tone(seconds: float) -> np.ndarray:
    return 0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * 16000)) / 16000)


SPEECH = fixture_path("jupiter_en.mp3").read_bytes()

# name -> (content, expected status, text the error or the warning must contain)
CASES = {
    "empty.mp3": (b"", Status.FAILURE, "the file is empty"),
    "random.mp3": (random.Random(7).randbytes(300_000), Status.FAILURE, "cannot read the file as audio or video"),
    "notes.wav": (b"These are my meeting notes, not a recording.\n" * 200, Status.FAILURE, "cannot read the file"),
    "picture.mp4": (png(), Status.FAILURE, "the file is an image (PNG), not audio or video"),
    "cut.mp3": (SPEECH[: len(SPEECH) * 2 // 5], Status.FAILURE, "truncated"),
    "video_only.mp4": (fixture_path("video_only.mp4").read_bytes(), Status.FAILURE, "has no audio track"),
    "blip.wav": (wav(tone(0.1)), Status.SUCCESS, "no speech detected"),
    "liar.wav": (wav(np.zeros(16000), declared=0xFFFFFF00), Status.SUCCESS, "no speech detected"),
    "odd_codec.wav": (wav(tone(1.0), fmt_tag=0x9999), Status.FAILURE, "audio codec in this wav file is not supported"),
    "../../etc/passwd.mp3": (SPEECH, Status.SUCCESS, ""),
    "zeros.mp3": (bytes(50 * 1024 * 1024), Status.FAILURE, "cannot read the file as audio or video"),
    "jupiter_en.mp3": (SPEECH, Status.SUCCESS, ""),
}


def multipart_with_raw_name(name: bytes, content: bytes) -> tuple[bytes, str]:
    boundary = "----bad-inputs-boundary"
    head = b'Content-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
    head += b"Content-Type: application/octet-stream\r\n\r\n"
    body = f"--{boundary}\r\n".encode() + head + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_bad_inputs_fail_alone_with_clear_reasons(api, speech_models, celery_worker):
    kb = api.post("/api/knowledge/", {"name": "bad inputs"}, format="json").data["id"]
    url = f"/api/knowledge/{kb}/document/"
    batch = api.post(url, {"file": [SimpleUploadedFile(n, c) for n, (c, _, _) in CASES.items()]}, format="multipart")
    body, content_type = multipart_with_raw_name("会议 réunion.mp3".encode(), SPEECH)  # UTF-8, not ASCII
    raw = api.generic("POST", url, body, content_type=content_type)
    body, content_type = multipart_with_raw_name("réunion.mp3".encode("latin-1"), SPEECH)  # not UTF-8
    not_utf8 = api.generic("POST", url, body, content_type=content_type)
    assert batch.status_code == 201 and raw.status_code == 201, (batch.data, raw.data)
    assert not_utf8.status_code == 400 and "must be valid UTF-8" in not_utf8.data["errors"]["file"][0]

    ids = [d["id"] for d in batch.data["documents"]] + [raw.data["documents"][0]["id"]]
    docs = {d.pk: d for d in wait_for_documents(ids, timeout=240)}

    names = [*CASES, "non-ASCII name"]
    assert len(names) == len(ids) >= 13
    for name, doc_id in zip(names, ids, strict=True):
        doc = docs[doc_id]
        content, expected, text = CASES.get(name, (SPEECH, Status.SUCCESS, ""))
        assert doc.status == expected, (name, doc.error)
        if expected == Status.FAILURE:
            assert text in doc.error and "\n" not in doc.error and "internal error" not in doc.error, (name, doc.error)
            assert doc.paragraph_count == 0
        elif text:
            assert doc.warnings == [text] and doc.paragraph_count == 0, (name, doc.warnings)
        else:
            assert (
                doc.paragraph_count >= 1
                and "jupiter" in " ".join(doc.paragraphs.values_list("content", flat=True)).lower()
            )
        stored = Path(doc.file.path).resolve()
        assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve() / "documents"), (name, stored)
    assert docs[ids[names.index("../../etc/passwd.mp3")]].name == "passwd.mp3"
    assert docs[ids[-1]].name == "会议 réunion.mp3"
    assert not Document.objects.filter(status__in=[Status.PENDING, Status.STARTED]).exists()


def test_media_longer_than_the_limit_fails_at_once_with_both_lengths(api, speech_models, celery_worker, settings):
    settings.MAX_MEDIA_DURATION = 10
    kb = api.post("/api/knowledge/", {"name": "long"}, format="json").data["id"]
    response = api.post(f"/api/knowledge/{kb}/document/", {"file": [SimpleUploadedFile("j.mp3", SPEECH)]})

    (doc,) = wait_for_documents([response.data["documents"][0]["id"]], timeout=60)

    assert doc.status == Status.FAILURE
    assert re.fullmatch(r"the media is 1\d s long; the limit is 10 s \(MAX_MEDIA_DURATION\)", doc.error), doc.error
