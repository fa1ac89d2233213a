"""A file that declares less than it holds (item 10): MAX_MEDIA_DURATION was checked against the
declared duration only, so a file declaring 2 h that held 6 h was decoded and staged to the end
(1.2 GB of segments). The limit is now on what is decoded, and the samples staged for the
workers are capped."""

import functools
import io
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from django.conf import settings as django_settings

from core import pcm
from knowledge.models import Status
from media_learning.pipeline.decode import probe
from tests.conftest import wait_for_documents
from tests.security.conftest import knowledge_base

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEGMENT_BYTES = 30 * 16000 * 4  # one 30 s segment staged as float32


def mp3(seconds: float, bitrate: int, rate: int = 44100) -> bytes:
    """A tone as MPEG audio frames without a Xing header (so the length is estimated)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3", options={"write_xing": "0", "id3v2_version": "0"}) as out:
        stream = out.add_stream("mp3", rate=rate, layout="mono")
        stream.bit_rate = bitrate
        t = np.arange(int(seconds * rate)) / rate
        pcm.encode(out, stream, 0.3 * np.sin(2 * np.pi * 440 * t), rate)
        pcm.flush(out, stream)
    return buffer.getvalue()


@functools.cache
def _lying_bytes() -> bytes:
    return mp3(10, 320_000) + mp3(600, 32_000)


def lying_mp3(tmp_path) -> Path:
    """Ten seconds at 320 kbit/s, then ten minutes at 32: FFmpeg estimates the length from the
    first frames' bit rate and the file size, about 70 s, while it holds 610 s."""
    path = tmp_path / "short.mp3"
    path.write_bytes(_lying_bytes())  # encoded once per run
    return path


class FolderWatch(threading.Thread):
    """The largest size the document's staged segments reach on disk."""

    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder, self.largest, self.stopped = folder, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            if self.folder.exists():
                size = sum(p.stat().st_size for p in self.folder.glob("*.npy") if p.exists())
                self.largest = max(self.largest, size)


def test_the_limit_is_on_decoded_seconds_and_staged_samples_are_capped(people, celery_worker, settings, tmp_path):
    media = lying_mp3(tmp_path)
    declared = probe(media).duration
    settings.MAX_MEDIA_DURATION = 240
    settings.FANOUT_MAX_STAGED_BYTES = 2 * SEGMENT_BYTES
    kb = knowledge_base(people.alice, "liars")

    upload = people.alice.post(f"/api/knowledge/{kb}/document/", files={"file": ("short.mp3", media.read_bytes())},
                               data={"segment_duration": "30"})  # fmt: skip
    doc_id = upload.json()["documents"][0]["id"]
    watch = FolderWatch(Path(django_settings.MEDIA_ROOT) / "segments" / str(doc_id))
    watch.start()
    (doc,) = wait_for_documents([doc_id], timeout=300)
    watch.stopped.set()

    assert 45 < declared < 240, declared  # declares little enough to pass, enough to be fanned out
    assert doc.status == Status.FAILURE, (doc.status, doc.error)
    assert (
        doc.error == "the media is longer than the limit of 4.0 min (MAX_MEDIA_DURATION), whatever length it declares"
    )
    assert 0 < watch.largest <= 2 * SEGMENT_BYTES + 4096, watch.largest  # never more than the cap waited on disk
    assert not watch.folder.exists()  # and what waited is gone
