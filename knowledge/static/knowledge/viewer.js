// The document view: the player beside the transcript, the sentence being spoken highlighted as
// it plays (the word too, when word timestamps were recorded), any sentence or word a button
// that seeks there, the summary, and downloads. Its address (#document=ID&t=SECONDS) opens it.
"use strict";

import { $, _, api, clock, el, fill, languageName } from "./common.js";

const player = $("#player");
const transcript = $("#transcript");
let current = { id: null, segments: [], media: "" };
let spoken = null;
let spokenWord = null;

function seek(seconds) {
  const go = () => { player.currentTime = seconds; player.play().catch(() => {}); };
  if (player.readyState >= 1) go(); else player.addEventListener("loadedmetadata", go, { once: true });
}

function sentence(segment, index) {
  const button = el("button", "sentence");
  button.type = "button";
  button.dataset.index = index;
  button.dataset.start = segment.start;
  button.dataset.end = segment.end;
  button.title = clock(segment.start);
  if (segment.words && segment.words.length) {
    for (const word of segment.words) {
      const span = el("span", "word", word.word);
      span.dataset.start = word.start;
      span.dataset.end = word.end;
      button.append(span);
    }
  } else {
    button.textContent = segment.text.trim();
  }
  button.addEventListener("click", (event) => {
    const word = event.target.closest(".word");
    seek(word ? Number(word.dataset.start) : segment.start);
  });
  return button;
}

function renderTranscript(segments) {
  transcript.replaceChildren();
  if (!segments.length) transcript.append(el("p", "muted", _("No speech was found in this recording.")));
  segments.forEach((segment, index) => {
    // who speaks, where the document was diarized: shown when the speaker changes (text, never markup)
    if (segment.speaker && (index === 0 || segments[index - 1].speaker !== segment.speaker)) {
      transcript.append(el("p", "speaker", segment.speaker));
    }
    const row = el("p", "line", null, el("span", "time", clock(segment.start)), sentence(segment, index));
    transcript.append(row);
  });
}

// The segment being spoken at ``t`` (segments are in time order): binary search.
function segmentAt(t) {
  const segments = current.segments;
  let low = 0, high = segments.length - 1, found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (segments[mid].start <= t) { found = mid; low = mid + 1; } else high = mid - 1;
  }
  return found >= 0 && t <= segments[found].end + 0.5 ? found : -1;
}

player.addEventListener("timeupdate", () => {
  const index = segmentAt(player.currentTime);
  const button = index >= 0 ? transcript.querySelector(`.sentence[data-index="${index}"]`) : null;
  if (button !== spoken) {
    if (spoken) spoken.classList.remove("current");
    if (button) {
      button.classList.add("current");
      if (!transcript.matches(":hover")) button.scrollIntoView({ block: "nearest" });
    }
    spoken = button;
  }
  const word = button ? [...button.querySelectorAll(".word")].find(
    (w) => Number(w.dataset.start) <= player.currentTime && player.currentTime <= Number(w.dataset.end)) : null;
  if (word !== spokenWord) {
    if (spokenWord) spokenWord.classList.remove("current-word");
    if (word) word.classList.add("current-word");
    spokenWord = word || null;
  }
});

function downloads(document_) {
  const box = $("#downloads");
  box.replaceChildren();
  const base = `/api/knowledge/document/${document_.id}`;
  const link = (href, label) => { const a = el("a", "", label); a.href = href; a.download = ""; return a; };
  if (document_.status === "SUCCESS") {
    for (const fmt of ["srt", "vtt", "txt"]) box.append(link(`${base}/transcript/?format=${fmt}`, fmt.toUpperCase()));
  }
  if (document_.media_url) {
    box.append(link(document_.media_url, _("original media")));
    const audio = el("button", "link", _("audio (MP3)"));
    audio.type = "button";
    audio.addEventListener("click", () => fetchAudio(`${base}/audio/?format=mp3`, audio));
    box.append(audio);
  }
  box.hidden = !box.children.length;
}

// The MP3 is made by a worker on first request (202 with Retry-After until it is ready).
async function fetchAudio(url, button, tries = 0) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 202 && tries < 30) {
    button.textContent = _("preparing the audio…");
    const wait = Number(response.headers.get("Retry-After") || 2);
    setTimeout(() => fetchAudio(url, button, tries + 1), Math.min(10, wait) * 1000);
    return;
  }
  button.textContent = _("audio (MP3)");
  if (response.ok) window.location.assign(url);
  else {
    const body = await response.json().catch(() => ({}));
    alert(body.detail || response.statusText);
  }
}

async function reloadTranscript(id) {
  const body = await api(`/api/knowledge/document/${id}/transcript/?format=json&words=true`);
  current.segments = body.segments;
  renderTranscript(body.segments);
}

// A Save button that PATCHes ``body()`` to ``url``, says how it went in ``state`` and shows the
// transcript again (corrections and speaker names both change it).
function saveButton(id, state, url, body) {
  const save = el("button", "", _("Save"));
  save.type = "button";
  save.addEventListener("click", async () => {
    save.disabled = true;
    try {
      await api(url, { method: "PATCH", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body()) });
      state.textContent = _("saved");
      await reloadTranscript(id);
    } catch (error) {
      state.textContent = error.message;
    } finally {
      save.disabled = false;
    }
  });
  return save;
}

// Correcting the transcript (editors): each paragraph in a text box; a saved one is embedded and
// indexed again at once, and the transcript above shows it.
async function showCorrections(document_) {
  const box = $("#correct-box");
  const list = $("#corrections");
  list.replaceChildren();
  box.hidden = true;
  if (document_.status !== "SUCCESS") return;
  const kb = await api(`/api/knowledge/${document_.knowledge_base}/`).catch(() => null);
  if (!kb || !["owner", "editor"].includes(kb.role)) return;
  showSpeakers(document_);
  const page = await api(`/api/knowledge/document/${document_.id}/paragraphs/?limit=500`);
  for (const paragraph of page.results.filter((p) => p.kind === "transcript")) {
    const text = el("textarea", "correction");
    text.value = paragraph.content;
    text.rows = 3;
    text.setAttribute("aria-label", fill("Paragraph at %(time)s", { time: clock(paragraph.start) }));
    const state = el("span", "muted", paragraph.corrected_at ? _("corrected") : "");
    const save = saveButton(document_.id, state, `/api/knowledge/paragraph/${paragraph.id}/`,
      () => ({ content: text.value }));
    list.append(el("li", "", null, el("span", "time", clock(paragraph.start)), text, save, state));
  }
  box.hidden = !list.children.length;
}

// Naming the speakers (editors): one box per speaker; a saved name reaches the transcript, its
// paragraphs and search at once, and the knowledge base learns that voice. Empty: the label again.
function showSpeakers(document_) {
  const list = $("#speaker-names");
  list.replaceChildren();
  for (const speaker of document_.speakers || []) {
    const input = el("input", "speaker-name");
    input.value = speaker.name === speaker.label ? "" : speaker.name;
    input.placeholder = speaker.label;
    input.maxLength = 100;
    input.setAttribute("aria-label", fill("Name of %(label)s", { label: speaker.label }));
    const state = el("span", "muted", speaker.match ? `${Math.round(speaker.match * 100)}%` : "");
    const save = saveButton(document_.id, state, `/api/knowledge/document/${document_.id}/speakers/`,
      () => ({ label: speaker.label, name: input.value }));
    list.append(el("li", "", null, el("span", "time", speaker.label), input, save, state));
  }
  $("#speakers-box").hidden = !list.children.length;
}

export async function openDocument(id, at = 0, name = "") {
  const view = $("#document-view");
  view.hidden = false;
  if (current.id !== id) {
    const document_ = await api(`/api/knowledge/document/${id}/`);
    current = { id, segments: [], media: document_.media_url || "" };
    $("#doc-title").textContent = document_.name;
    const facts = [_(document_.status), languageName(document_.detected_language || document_.language),
      document_.duration ? clock(document_.duration) : "", document_.stt_model_used].filter(Boolean);
    $("#doc-facts").textContent = facts.join(" · ");
    const summary = document_.summary || "";
    $("#summary").textContent = summary;
    $("#summary-box").hidden = !summary;
    downloads(document_);
    showCorrections(document_).catch(() => {});
    transcript.replaceChildren();
    if (document_.status === "SUCCESS") {
      const body = await api(`/api/knowledge/document/${id}/transcript/?format=json&words=true`);
      current.segments = body.segments;
      renderTranscript(body.segments);
    } else {
      transcript.append(el("p", "muted", _("The transcript appears here when the document is done.")));
    }
    spoken = spokenWord = null;
    name = document_.name;
    if (current.media && player.getAttribute("src") !== current.media) player.src = current.media;
  }
  $("#now-playing").textContent = fill("%(name)s at %(time)s", { name: name || $("#doc-title").textContent,
    time: clock(at) });
  history.replaceState(null, "", `#document=${id}&t=${Math.floor(at)}`);
  if (current.media) seek(at);
}

export function openFromAddress() {
  const match = /document=(\d+)(?:&t=(\d+(?:\.\d+)?))?/.exec(location.hash);
  if (match) openDocument(Number(match[1]), Number(match[2] || 0)).catch(() => {});
}
