// The documents of the chosen knowledge base: status, stage, progress, language and duration,
// filtered by name and status on the server; a document opens in the document view.
"use strict";

import { $, _, api, clock, el, languageName } from "./common.js";
import { openDocument } from "./viewer.js";

const list = $("#documents");
let knowledgeBase = null;
let reloadTimer = null;

function describe(doc) {
  const percent = Math.round((doc.progress || 0) * 100);
  if (doc.status === "STARTED") return `${_(doc.stage || "started")} ${percent}%`;
  return _(doc.status);
}

function item(doc) {
  const open = el("button", "link doc-open", doc.name);
  open.type = "button";
  open.addEventListener("click", () => openDocument(doc.id, 0));
  const facts = [languageName(doc.detected_language || doc.language), doc.duration ? clock(doc.duration) : ""]
    .filter(Boolean).join(" · ");
  const status = el("span", `status state-${doc.status}`, describe(doc));
  if (doc.status === "FAILURE") status.title = doc.error;
  const row = el("li", "", null, open, status, el("span", "facts", facts));
  row.dataset.id = doc.id;
  row.dataset.status = doc.status;
  return row;
}

export async function loadDocuments(kbId = knowledgeBase) {
  knowledgeBase = kbId;
  if (!kbId) { list.replaceChildren(); return; }
  const query = new URLSearchParams({ limit: "200", ordering: "-created_at" });
  if ($("#doc-filter").value.trim()) query.set("name", $("#doc-filter").value.trim());
  if ($("#doc-status").value) query.set("status", $("#doc-status").value);
  try {
    const page = await api(`/api/knowledge/${kbId}/document/?${query}`);
    list.replaceChildren(...page.results.map(item));
    if (!page.results.length) list.append(el("li", "muted", _("No documents.")));
  } catch (error) {
    list.replaceChildren(el("li", "error", error.message));
  }
}

// Called as uploads change state: one reload for changes that come together.
export function documentsChanged() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => loadDocuments(), 400);
}

let filterTimer = null;
$("#doc-filter").addEventListener("input", () => { clearTimeout(filterTimer); filterTimer = setTimeout(loadDocuments, 250); });
$("#doc-status").addEventListener("change", () => loadDocuments());
