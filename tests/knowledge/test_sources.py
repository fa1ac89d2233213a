"""Watched folders and feeds, end to end with the real worker: new media ingested once each (by
content hash, by feed item), duplicates and half-written files passed over with the reason, the
originals moved when asked; a folder that disappears and a feed that is a web page are errors on
the source, and nothing else is lost."""

from __future__ import annotations

import os
import shutil
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from knowledge import sources
from knowledge.ingest import wait_until_finished
from knowledge.models import Document, KnowledgeBase, Source, Status
from tests.conftest import fixture_path
from tests.knowledge.web_server import WebServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def settled(path, minutes=1):
    past = time.time() - 60 * minutes
    os.utime(path, (past, past))  # as a file copied a while ago
    return path


def test_a_watched_folder_ingests_each_recording_once(tmp_path, user, speech_models, celery_worker):
    inbox, done_dir = tmp_path / "inbox", tmp_path / "done"
    (inbox / "week 1").mkdir(parents=True)
    settled(shutil.copy(fixture_path("jupiter_en.mp3"), inbox / "week 1" / "jupiter.mp3"), minutes=5)
    settled(shutil.copy(fixture_path("jupiter_en.mp3"), inbox / "same bytes again.mp3"))
    shutil.copy(fixture_path("lecture_60s_en.mp3"), inbox / "still copying.mp3")  # changed just now
    (inbox / "notes.txt").write_text("not media")
    (inbox / ".hidden.mp3").write_bytes(b"x")
    out = StringIO()
    call_command("watch", "add", "--folder", str(inbox), "--knowledge", "Inbox", "--owner", "alice",
                 "--move-to", str(done_dir), stdout=out)  # fmt: skip
    source = Source.objects.get()

    first = sources.poll(source)
    ids = [d.pk for d in first.ingested]
    finished = wait_until_finished(ids, timeout=180, poll=0.1)

    assert "watching folder" in out.getvalue() and len(ids) == 1 and first.waiting == 1 and not first.error
    assert [d.status for d in finished] == [Status.SUCCESS]
    assert first.skipped == [("same bytes again.mp3", f"already in the knowledge base as document {ids[0]} "
                                                      "('jupiter.mp3')")]  # fmt: skip
    assert (done_dir / "jupiter.mp3").exists() and not (inbox / "week 1" / "jupiter.mp3").exists()
    assert (inbox / "same bytes again.mp3").exists()  # skipped files are left where they are

    settled(inbox / "still copying.mp3")
    second = sources.poll(source)
    third = sources.poll(source)
    assert [d.name for d in second.ingested] == ["still copying.mp3"] and not third.ingested and not third.skipped
    wait_until_finished([d.pk for d in second.ingested], timeout=180, poll=0.1)
    items = StringIO()
    call_command("watch", "items", str(source.pk), stdout=items)
    assert "skipped: already in the knowledge base" in items.getvalue()
    assert items.getvalue().count("ingested as document") == 2 and "same bytes again.mp3" in items.getvalue()

    shutil.rmtree(inbox)  # the share is unmounted
    gone = sources.poll(source)
    source.refresh_from_db()
    assert "does not exist or is not mounted" in gone.error and source.error == gone.error
    assert Document.objects.filter(knowledge_base=source.knowledge_base, status=Status.SUCCESS).count() == 2


def test_a_podcast_feed_ingests_each_new_episode_once(user, speech_models, celery_worker, settings):
    with WebServer() as web:
        settings.URL_FETCH_ALLOWLIST = [web.address]
        kb = KnowledgeBase.objects.create(name="Podcast", owner=user)
        web.episodes = [("ep-1", "Episode one: Jupiter", "jupiter_en.mp3")]
        call_command("watch", "add", "--feed", f"{web.root}/feed.xml", "--knowledge", "Podcast", "--owner", "alice",
                     stdout=StringIO())  # fmt: skip
        source = Source.objects.get(knowledge_base=kb)

        first = sources.poll(source)
        web.episodes.append(("ep-2", "Episode two: a lecture", "lecture_60s_en.mp3"))
        second = sources.poll(source)
        docs = wait_until_finished([d.pk for d in first.ingested + second.ingested], timeout=240, poll=0.1)

        assert [d.name for d in first.ingested] == ["Episode one: Jupiter"]
        assert [d.name for d in second.ingested] == ["Episode two: a lecture"]  # only the new one
        assert [d.status for d in docs] == [Status.SUCCESS] * 2, [d.error for d in docs]
        assert not sources.poll(source).ingested

        html = Source.objects.create(kind="feed", knowledge_base=kb, location=f"{web.root}/page")
        error = sources.poll(html).error  # a page without media, and generic pages are not extracted by default
        assert "is a web page (text/html), not an RSS or Atom feed, nor a channel or playlist" in error, error
    refused = Source.objects.create(kind="feed", knowledge_base=kb, location="http://169.254.169.254/feed.xml")
    assert "169.254.169.254" in sources.poll(refused).error  # the same guard as file_url
    with pytest.raises(CommandError, match="already watches"):
        call_command("watch", "add", "--feed", source.location, "--knowledge", "Podcast", "--owner", "alice")


def test_a_channel_or_playlist_page_ingests_each_new_item_once(user, speech_models, celery_worker, settings):
    """A feed URL that is a web page is read as a channel or playlist with yt-dlp (here its generic
    extractor, allowed for this page, as a site's own extractor would be for a real channel)."""
    settings.URL_EXTRACTORS = ["default"]
    with WebServer() as web:
        settings.URL_FETCH_ALLOWLIST = [web.address]
        kb = KnowledgeBase.objects.create(name="Channel", owner=user)
        web.talks = ["jupiter_en.mp3"]
        source = Source.objects.create(kind="feed", knowledge_base=kb, location=f"{web.root}/talks", owner=user)

        first = sources.poll(source)
        web.talks.append("zh/zh_shared_01.wav")  # a Mandarin talk joins the channel
        second = sources.poll(source)
        docs = wait_until_finished([d.pk for d in first.ingested + second.ingested], timeout=240, poll=0.1)
        again = sources.poll(source)

    assert first.error == second.error == "" and len(first.ingested) == len(second.ingested) == 1
    assert first.ingested[0].source_url == f"{web.root}/media/jupiter_en.mp3"
    assert second.ingested[0].source_url == f"{web.root}/media/zh/zh_shared_01.wav"  # only the new item
    assert [d.status for d in docs] == [Status.SUCCESS] * 2, [d.error for d in docs]
    assert "Jupiter" in " ".join(docs[0].paragraphs.values_list("content", flat=True))
    assert docs[1].language == "zh" and docs[1].paragraphs.exists()
    assert again.ingested == [] and source.items.count() == 2
