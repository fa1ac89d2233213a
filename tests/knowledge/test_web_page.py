"""The web page in a real headless Chromium (Debian's, driven by Playwright) against a live server
and the real worker: sign in, drop two files, watch them reach SUCCESS, search, click a result
and check that the player seeks to the moment it was spoken."""

import base64
import os
import shutil
from pathlib import Path

import pytest

from knowledge.models import KnowledgeBase
from tests.conftest import fixture_path

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]  # fmt: skip
SCREENSHOT = Path(__file__).resolve().parents[2] / "var" / "web-page.png"

DROP_FILES = """([files, selector]) => {
    const transfer = new DataTransfer();
    for (const [name, type, data] of files) {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], name, {type}));
    }
    const zone = document.querySelector(selector);
    zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
}"""


def open_page(locale=None):
    """A page in a headless Chromium whose system language is ``locale`` (None: Playwright's own)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make test installs Debian's chromium when run as root)")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            context = browser.new_context(locale=locale, viewport={"width": 1100, "height": 1000})
            yield context.new_page()
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def sign_in(page, live_server, opened=False) -> None:
    """Sign in as alice on the page (``opened``: the sign-in page is already shown)."""
    if not opened:
        page.goto(f"{live_server.url}/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice-123")
    page.click("#sign-in")
    page.wait_for_selector("#kb-select option", state="attached")


def drop(page, files, listed_in: str, timeout: int = 240_000) -> None:
    """Drop ``files`` on the page and wait until ``listed_in`` shows each of them SUCCESS."""
    page.evaluate(DROP_FILES, [files, "#drop-zone"])
    page.wait_for_function(f"document.querySelectorAll('{listed_in} li[data-status=SUCCESS]').length === {len(files)}",
                           timeout=timeout)  # fmt: skip


@pytest.fixture
def browser_page():
    yield from open_page()


@pytest.mark.parametrize("streams_free", [True, False], ids=["event-stream", "no-stream-free-polls"])
def test_web_page_upload_progress_search_and_seek(browser_page, live_server, user, speech_models, celery_worker,
                                                  settings, streams_free):  # fmt: skip
    if not streams_free:
        settings.EVENTS_MAX_PER_USER = 0  # every stream refused (429): the page must poll instead
    page = browser_page
    KnowledgeBase.objects.create(name="Lectures", owner=user)
    files = [(name, kind, base64.b64encode(fixture_path(name).read_bytes()).decode())
             for name, kind in (("lecture_60s_en.mp3", "audio/mpeg"), ("bread_en.mp4", "video/mp4"))]  # fmt: skip

    sign_in(page, live_server)
    streams = []
    page.on("request", lambda request: streams.append(request.url) if "/events/" in request.url else None)
    page.evaluate(DROP_FILES, [files, "#drop-zone"])
    page.wait_for_function("document.querySelectorAll('#uploads li[data-status=SUCCESS]').length === 2",
                           timeout=180_000)  # fmt: skip
    rows = page.locator("#uploads li")
    names = rows.locator(".name").all_text_contents()
    progress = [rows.nth(i).locator("progress").get_attribute("value") for i in range(2)]

    page.fill("#search-input", "timestamps let a search result jump to the right place in the recording")
    page.click("#search-form button[type=submit]")
    first = page.locator("#results li.hit").first
    first.wait_for()
    start = float(first.get_attribute("data-start"))
    first.click()
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {start}) < 1.5",
                           timeout=30_000)  # fmt: skip
    player_src = page.get_attribute("#player", "src")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    assert names == ["lecture_60s_en.mp3", "bread_en.mp4"] and progress == ["100", "100"]
    # both uploads followed over the one stream for many documents, never a stream each
    assert streams and all("/api/knowledge/document/events/?id=" in url for url in streams), streams
    if streams_free:
        assert len(streams) <= 3, streams  # one, reopened when the second upload lands
    assert "right place" in first.locator(".text").text_content() and start > 20
    assert "/api/knowledge/document/" in player_src and player_src.endswith("/media/")
    assert "lecture_60s_en.mp3 at 00:" in page.text_content("#now-playing")
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and SCREENSHOT.stat().st_size > 20_000


@pytest.fixture
def chinese_page():
    """The browser of a user whose system is in Chinese (Accept-Language zh-CN)."""
    yield from open_page("zh-CN")


def test_a_mandarin_meeting_dropped_with_the_defaults_is_found_by_chinese_and_english_questions(
    chinese_page, live_server, user, speech_models, celery_worker
):
    page = chinese_page
    KnowledgeBase.objects.create(name="项目会议", owner=user)
    files = [(name.split("/")[-1], "audio/wav" if name.endswith(".wav") else "audio/mpeg",
              base64.b64encode(fixture_path(name).read_bytes()).decode())
             for name in ("zh/zh_shared_meeting.wav", "lecture_60s_en.mp3")]  # fmt: skip

    page.goto(f"{live_server.url}/")
    login_title = page.text_content("h2")
    sign_in(page, live_server, opened=True)
    page.wait_for_selector("#stt-model option[value=auto]", state="attached")  # the registry, for choosing
    chosen = (page.input_value("#stt-model"), page.input_value("#language"))  # nothing chosen: the defaults
    drop(page, files, "#uploads")
    statuses = page.locator("#uploads li .status").all_text_contents()

    found = {}
    for question in ("发布日期定在哪一天？", "when is the new version going to be released"):
        page.fill("#search-input", question)
        page.click("#search-form button[type=submit]")
        page.wait_for_function("document.querySelector('#results li.hit .doc') !== null")
        found[question] = page.locator("#results li.hit .doc").first.text_content()
        page.evaluate("document.querySelector('#results').innerHTML = ''")

    assert login_title == "登录" and chosen == ("", "")
    assert "完成" in statuses[0] and "中文 (zh)" in statuses[0] and "bundled-base" in statuses[0], statuses
    assert "英语 (en)" in statuses[1] and "bundled-tiny-en" in statuses[1], statuses
    assert all("zh_shared_meeting.wav" in name for name in found.values()), found


ARTEFACTS = SCREENSHOT.parent
WIDEST = """[...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8)
    .map((e) => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""


def test_documents_transcript_view_ask_and_citations(browser_page, live_server, user, speech_models, celery_worker,
                                                     language_model, chat_server):  # fmt: skip
    language_model.is_default = True
    language_model.save()
    page = browser_page
    KnowledgeBase.objects.create(name="Lectures", owner=user)
    hostile = "<img src=x onerror=window.pwned=1>.mp3"
    files = [(name, "audio/mpeg", base64.b64encode(fixture_path(fixture).read_bytes()).decode())
             for name, fixture in (("lecture_60s_en.mp3", "lecture_60s_en.mp3"),
                                   (hostile, "jupiter_en.mp3"))]  # fmt: skip

    sign_in(page, live_server)
    drop(page, files, "#documents")
    listed = page.locator("#documents .doc-open").all_text_contents()

    # the document view: the transcript beside the player; a click on a sentence seeks there
    page.locator("#documents li", has_text="lecture_60s_en.mp3").locator(".doc-open").click()
    page.wait_for_selector("#transcript .sentence")
    sentences = page.locator("#transcript .sentence")
    third = sentences.nth(2)
    start = float(third.get_attribute("data-start"))
    third.click()
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {start}) < 1.0")
    page.wait_for_selector("#transcript .sentence.current")
    current = page.locator("#transcript .sentence.current").get_attribute("data-index")
    tag = third.evaluate("node => node.tagName")  # a button: reachable by keyboard

    # an editor corrects a paragraph: the transcript shows it at once
    page.click("#correct-box summary")
    first_box = page.locator("#corrections textarea").first
    first_box.fill("Welcome to this short lecture about how computers store and find knowledge.")
    page.locator("#corrections li").first.locator("button").click()
    page.wait_for_function("document.querySelector('#transcript').textContent.includes('find knowledge.')")

    # search marks the words it matched
    page.fill("#search-input", "timestamps in the recording")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results li.hit mark")
    marked = page.locator("#results li.hit").first.locator("mark").all_text_contents()

    # ask: the answer streams in with its citations; a citation opens the document at the moment
    page.fill("#ask-input", "How do search engines remember which documents contain a word?")
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#citations li button")
    answer = page.text_content("#answer")
    citation = page.locator("#citations li button").first
    cited = citation.text_content()
    page.evaluate("document.getElementById('player').pause()")
    page.locator("#answer .cite").first.click()
    page.wait_for_function("location.hash.startsWith('#document=')")
    wanted = float(page.evaluate("new URLSearchParams(location.hash.slice(1)).get('t')"))
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {wanted}) < 1.5")
    page.screenshot(path=str(ARTEFACTS / "web-page-ask.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.screenshot(path=str(ARTEFACTS / "web-page-phone.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(WIDEST)

    assert sorted(listed) == sorted(["lecture_60s_en.mp3", hostile])  # the name shown as text
    assert page.evaluate("window.pwned") is None
    assert current == "2" and tag == "BUTTON" and sentences.count() >= 5
    assert any(m.lower().startswith("timestamp") for m in marked), marked
    assert "The recording says:" in answer and cited.startswith("[") and "lecture" in cited
    assert "at 00:" in page.text_content("#now-playing")
    assert overflow <= 1, wide  # nothing wider than a phone's screen
    assert (ARTEFACTS / "web-page-phone.png").stat().st_size > 10_000


def test_speakers_are_shown_named_and_filter_search_and_ask(
    browser_page, live_server, user, speech_models, celery_worker, language_model, chat_server, tmp_path
):
    """A two-person meeting on the page: the transcript says who speaks, an editor names a speaker
    (a name with markup stays text), and search and ask can be limited to what that person said."""
    from tests.fixtures import speaker_mixes as mixes

    language_model.is_default = True
    language_model.save()
    page = browser_page
    KnowledgeBase.objects.create(name="Meetings", owner=user, diarize="on")
    samples, _ = mixes.build(["en_slt", "en_kal"], turns=6, seed=4)
    mixes.write_mp3(tmp_path / "standup.mp3", samples)
    files = [("standup.mp3", "audio/mpeg", base64.b64encode((tmp_path / "standup.mp3").read_bytes()).decode())]
    name = "Ann <i>Lee</i>"

    sign_in(page, live_server)
    drop(page, files, "#documents")
    page.locator("#documents .doc-open").first.click()
    page.wait_for_selector("#transcript .speaker")
    headings = page.locator("#transcript .speaker").all_text_contents()

    page.click("#speakers-box summary")
    page.locator("#speaker-names input").first.fill(name)
    page.locator("#speaker-names li").first.locator("button").click()
    page.wait_for_function(
        f"[...document.querySelectorAll('#transcript .speaker')].some(n => n.textContent === {name!r})"
    )
    renamed = page.locator("#transcript .speaker").all_text_contents()

    page.focus("#search-speaker")  # the filter offers the knowledge base's speakers
    page.wait_for_function(f"[...document.querySelectorAll('#kb-speakers option')].some(o => o.value === {name!r})")
    page.fill("#search-speaker", name)
    page.fill("#search-input", "servers budget release tests")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results li.hit")
    who = page.locator("#results li.hit .who").all_text_contents()

    page.fill("#ask-speaker", "SPEAKER_2")
    page.fill("#ask-input", "What did they say about the budget?")
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#citations li button")
    cited = page.locator("#citations li .who").all_text_contents()
    page.screenshot(path=str(ARTEFACTS / "web-page-speakers.png"), full_page=True)

    assert headings[:2] == ["SPEAKER_1", "SPEAKER_2"] and set(headings) == {"SPEAKER_1", "SPEAKER_2"}
    assert set(renamed) == {name, "SPEAKER_2"} and page.evaluate("document.querySelector('#transcript i')") is None
    assert who and set(who) == {f"{name}: "}
    assert cited and set(cited) == {"SPEAKER_2: "}
    assert chat_server.requests[-1]["messages"][-1]["content"].count("SPEAKER_2)") >= 1
