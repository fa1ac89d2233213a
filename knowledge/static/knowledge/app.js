// The web page: pick a knowledge base, drop files and follow each one live (server-sent
// events), list its documents, search (matching words marked), ask (ask.js), and read and hear a
// document with its transcript (viewer.js). Plain ES modules over the REST API, no library: the
// page needs a few hundred lines, and every string a user controls is set as text.
"use strict";

import { setUpAsk, resetConversation } from "./ask.js";
import { $, _, api, clock, el, fill, highlighted, languageName } from "./common.js";
import { documentsChanged, loadDocuments } from "./documents.js";
import { openDocument, openFromAddress } from "./viewer.js";

const TERMINAL = ["SUCCESS", "FAILURE", "REVOKED"];
const kbSelect = $("#kb-select");

async function loadKnowledgeBases(selectId) {
  const page = await api("/api/knowledge/?limit=500");
  kbSelect.innerHTML = "";
  for (const kb of page.results) {
    const option = new Option(fill("%(name)s (%(count)s documents, %(role)s)",
      { name: kb.name, count: kb.document_count, role: _(kb.role) }), kb.id);
    kbSelect.add(option);
  }
  if (selectId) kbSelect.value = String(selectId);
  if (kbSelect.value !== shownKnowledgeBase) {
    shownKnowledgeBase = kbSelect.value;
    resetConversation();
    loadDocuments(kbSelect.value);
    loadSpeakers();
  }
}

// Who speaks in the knowledge base, offered by the search and ask boxes' speaker filters; asked
// again when a filter gets focus (names change as people name speakers).
async function loadSpeakers() {
  const list = $("#kb-speakers");
  if (!kbSelect.value) { list.replaceChildren(); return; }
  try {
    const speakers = await api(`/api/knowledge/${kbSelect.value}/speakers/`);
    list.replaceChildren(...speakers.map((s) => {
      const option = document.createElement("option");
      option.value = s.name;
      option.label = fill("%(name)s (%(count)s documents)", { name: s.name, count: s.documents });
      return option;
    }));
  } catch (error) { /* the filter still takes what is typed */ }
}
for (const input of document.querySelectorAll(".speaker-filter")) input.addEventListener("focus", loadSpeakers);

let shownKnowledgeBase = null;
kbSelect.addEventListener("change", () => loadKnowledgeBases(kbSelect.value));

async function loadSpeechModels() {
  const select = $("#stt-model");
  try {
    const page = await api("/api/stt-models/?limit=200");
    for (const model of page.results || page) {
      const label = model.description ? `${model.name}: ${model.description}` : model.name;
      select.add(new Option(label, model.name));
    }
  } catch (error) { /* the default model still works */ }
}

$("#new-kb-button").addEventListener("click", async () => {
  const name = $("#new-kb-name").value.trim();
  if (!name) return;
  try {
    const kb = await api("/api/knowledge/", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name }),
    });
    $("#new-kb-name").value = "";
    await loadKnowledgeBases(kb.id);
  } catch (error) {
    alert(error.message);
  }
});

function uploadRow(file) {
  const row = document.createElement("li");
  row.className = "upload";
  row.innerHTML = '<span class="name"></span><progress max="100" value="0"></progress><span class="status"></span>';
  row.querySelector(".status").textContent = _("uploading");
  row.querySelector(".name").textContent = file.name;
  $("#uploads").append(row);
  return row;
}

function show(row, state) {
  const status = row.querySelector(".status");
  const percent = Math.round((state.progress || 0) * 100);
  row.dataset.status = state.status;
  row.querySelector("progress").value = percent;
  status.className = "status state-" + state.status;
  if (state.status === "STARTED") status.textContent = `${_(state.stage || "started")} ${percent}%`;
  else if (state.status === "FAILURE") status.textContent = fill("FAILURE: %(error)s", { error: state.error });
  else status.textContent = _(state.status);
  const found = [languageName(state.detected_language || state.language), state.stt_model_used].filter(Boolean);
  if (state.status === "SUCCESS" && found.length) status.textContent += " · " + found.join(" · ");
  const warnings = state.warnings || [];
  status.title = warnings.join("\n");
  if (state.status === "SUCCESS" && warnings.length) status.textContent += " ⚠";
}

// Every upload being followed, by document id, over ONE event stream (browsers open about six
// connections per host: a stream per file stalled the page when ten were dropped). When the
// server has no stream free (429/503) the page polls the documents instead, and tries the
// stream again now and then.
const following = new Map();
let events = null;
let listenTimer = null;
let pollTimer = null;
let polls = 0;

function settle(state) {
  const row = following.get(state.id);
  if (!row) return;
  show(row, state);
  if (TERMINAL.includes(state.status)) {
    following.delete(state.id);
    loadKnowledgeBases(kbSelect.value);  // document counts
    documentsChanged();
    if (!following.size) stopListening();
  }
}

function stopListening() {
  if (events) events.close();
  events = null;
}

function listen() {
  clearTimeout(listenTimer);
  listenTimer = setTimeout(() => {  // uploads finishing together open one stream, not one each
    stopListening();
    if (!following.size || pollTimer) return;
    const stream = new EventSource(`/api/knowledge/document/events/?id=${[...following.keys()].join(",")}`);
    stream.addEventListener("status", (event) => settle(JSON.parse(event.data)));
    stream.addEventListener("deleted", (event) => {
      const id = JSON.parse(event.data).id;
      const row = following.get(id);
      if (!row) return;
      row.querySelector(".status").textContent = _("deleted");
      following.delete(id);
      if (!following.size) stopListening();
    });
    stream.addEventListener("timeout", () => listen());
    stream.onerror = () => {
      if (stream.readyState === EventSource.CLOSED && events === stream) {
        events = null;
        poll();  // refused (no stream free): poll instead
      }
    };
    events = stream;
  }, 150);
}

function poll() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(async () => {
    if (following.size) {
      try {
        const page = await api(`/api/knowledge/document/?id=${[...following.keys()].join(",")}&limit=100`);
        for (const state of page.results) settle(state);
      } catch (error) { /* try again at the next poll */ }
    }
    pollTimer = null;
    polls += 1;
    if (!following.size) return;
    if (polls % 5 === 0) listen(); else poll();
  }, 2000);
}

function follow(row, documentId) {
  row.dataset.id = documentId;
  following.set(documentId, row);
  listen();
}

function upload(file) {
  const row = uploadRow(file);
  const form = new FormData();
  form.append("file", file);
  if ($("#stt-model").value) form.append("stt_model_id", $("#stt-model").value);
  if ($("#language").value) form.append("language", $("#language").value);
  const request = new XMLHttpRequest();
  request.open("POST", `/api/knowledge/${kbSelect.value}/document/`);
  request.setRequestHeader("X-CSRFToken", window.CSRF_TOKEN);
  request.setRequestHeader("Accept", "application/json");
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) row.querySelector("progress").value = Math.round((100 * event.loaded) / event.total);
  };
  request.onload = () => {
    const body = JSON.parse(request.responseText || "{}");
    if (request.status >= 300) {
      show(row, { status: "FAILURE", error: body.detail || request.statusText });
      return;
    }
    const document_ = body.documents[0];
    show(row, document_);
    follow(row, document_.id);
    documentsChanged();
  };
  request.onerror = () => show(row, { status: "FAILURE", error: _("the upload was interrupted") });
  request.send(form);
}

function uploadAll(files) {
  if (!kbSelect.value) return alert(_("Create or choose a knowledge base first."));
  for (const file of files) upload(file);
}

const dropZone = $("#drop-zone");
dropZone.addEventListener("dragover", (event) => { event.preventDefault(); dropZone.classList.add("over"); });
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("over");
  uploadAll(event.dataTransfer.files);
});
$("#file-input").addEventListener("change", (event) => { uploadAll(event.target.files); event.target.value = ""; });

$("#search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = new URLSearchParams({ q: $("#search-input").value, mode: $("#search-mode").value, top_k: "10" });
  if ($("#search-speaker").value.trim()) query.set("speaker", $("#search-speaker").value.trim());
  const results = $("#results");
  results.innerHTML = "";
  try {
    const hits = await api(`/api/knowledge/${kbSelect.value}/search/?${query}`);
    if (!hits.length) {
      const none = document.createElement("li");
      none.textContent = _("No results.");
      results.append(none);
    }
    for (const hit of hits) {
      const item = document.createElement("li");
      item.className = "hit";
      item.dataset.start = hit.start;
      item.tabIndex = 0;
      item.setAttribute("role", "button");
      item.append(el("span", "time", clock(hit.start)));
      if (hit.speaker) item.append(el("span", "who", hit.speaker + ": "));
      item.append(el("span", "text", null, highlighted(hit.content, query.get("q"))),
        " ", el("span", "doc", "— " + hit.document_name));
      const open = () => openDocument(hit.document_id, hit.start, hit.document_name).catch((e) => alert(e.message));
      item.addEventListener("click", open);
      item.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); } });
      results.append(item);
    }
  } catch (error) {
    results.innerHTML = "";
    const item = document.createElement("li");
    item.textContent = error.message;
    results.append(item);
  }
});

setUpAsk(() => kbSelect.value);
loadKnowledgeBases();
loadSpeechModels();
openFromAddress();
