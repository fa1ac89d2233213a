// The web page: pick a knowledge base, drop files, follow each one live (server-sent events),
// search, and play the media from the moment a result was spoken. Plain JS over the REST API.
"use strict";

const TERMINAL = ["SUCCESS", "FAILURE", "REVOKED"];
const $ = (selector) => document.querySelector(selector);
const kbSelect = $("#kb-select");
const player = $("#player");

function clock(seconds) {
  const s = Math.floor(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s % 60);
}

async function api(path, options = {}) {
  const headers = Object.assign({ "X-CSRFToken": window.CSRF_TOKEN, Accept: "application/json" }, options.headers);
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options, { headers }));
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error((body && body.detail) || response.statusText);
  return body;
}

async function loadKnowledgeBases(selectId) {
  const page = await api("/api/knowledge/?limit=500");
  kbSelect.innerHTML = "";
  for (const kb of page.results) {
    const option = new Option(`${kb.name} (${kb.document_count} documents, ${kb.role})`, kb.id);
    kbSelect.add(option);
  }
  if (selectId) kbSelect.value = String(selectId);
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
  row.innerHTML = '<span class="name"></span><progress max="100" value="0"></progress><span class="status">uploading</span>';
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
  status.textContent = state.status === "STARTED" ? `${state.stage || "started"} ${percent}%`
    : state.status === "FAILURE" ? `FAILURE: ${state.error}` : state.status;
}

function follow(row, documentId) {
  row.dataset.id = documentId;
  const events = new EventSource(`/api/knowledge/document/${documentId}/events/`);
  events.addEventListener("status", (event) => {
    const state = JSON.parse(event.data);
    show(row, state);
    if (TERMINAL.includes(state.status)) {
      events.close();
      loadKnowledgeBases(kbSelect.value);  // document counts
    }
  });
  for (const name of ["deleted", "timeout"]) events.addEventListener(name, () => events.close());
}

function upload(file) {
  const row = uploadRow(file);
  const form = new FormData();
  form.append("file", file);
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
  };
  request.onerror = () => show(row, { status: "FAILURE", error: "the upload was interrupted" });
  request.send(form);
}

function uploadAll(files) {
  if (!kbSelect.value) return alert("Create or choose a knowledge base first.");
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

function play(hit) {
  const source = hit.media_url.split("#")[0];
  $("#now-playing").textContent = `${hit.document_name} at ${clock(hit.start)}`;
  const seek = () => { player.currentTime = hit.start; player.play().catch(() => {}); };
  if (player.getAttribute("src") === source && player.readyState >= 1) return seek();
  player.addEventListener("loadedmetadata", seek, { once: true });
  player.src = source;
}

$("#search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = new URLSearchParams({ q: $("#search-input").value, mode: $("#search-mode").value, top_k: "10" });
  const results = $("#results");
  results.innerHTML = "";
  try {
    const hits = await api(`/api/knowledge/${kbSelect.value}/search/?${query}`);
    if (!hits.length) results.innerHTML = "<li>No results.</li>";
    for (const hit of hits) {
      const item = document.createElement("li");
      item.className = "hit";
      item.dataset.start = hit.start;
      item.innerHTML = '<span class="time"></span><span class="text"></span> <span class="doc"></span>';
      item.querySelector(".time").textContent = clock(hit.start);
      item.querySelector(".text").textContent = hit.content;
      item.querySelector(".doc").textContent = "— " + hit.document_name;
      item.addEventListener("click", () => play(hit));
      results.append(item);
    }
  } catch (error) {
    results.innerHTML = "";
    const item = document.createElement("li");
    item.textContent = error.message;
    results.append(item);
  }
});

loadKnowledgeBases();
