// Ask the knowledge base: the answer streams in (server-sent events over a POST, read with
// fetch), its [n] citations become buttons that open the document at the moment, and follow-up
// questions carry the conversation so far.
"use strict";

import { $, _, clock, el, headers } from "./common.js";
import { openDocument } from "./viewer.js";

const answerBox = $("#answer");
const citationList = $("#citations");
let conversation = [];
let passages = new Map();

export function resetConversation() {
  conversation = [];
  answerBox.replaceChildren();
  citationList.replaceChildren();
  $("#ask-reset").hidden = true;
}

function cite(number) {
  const passage = passages.get(number);
  if (!passage) return document.createTextNode(`[${number}]`);
  const button = el("button", "cite", `[${number}]`);
  button.type = "button";
  button.title = `${passage.document_name} ${clock(moment(passage))}`;
  button.addEventListener("click", () => openAt(passage));
  return button;
}

// Where the answer is said in the passage (the sentence closest to the question), else its start.
function moment(passage) {
  return passage.moment ?? passage.start;
}

function openAt(passage) {
  openDocument(passage.document_id, moment(passage), passage.document_name)
    .then(() => $("#document-view").scrollIntoView({ block: "start" })).catch((error) => alert(error.message));
}

// The answer's text with each [n] it was given as a button.
function render(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    fragment.append(text.slice(last, match.index), cite(Number(match[1])));
    last = match.index + match[0].length;
  }
  fragment.append(text.slice(last));
  answerBox.replaceChildren(el("p", "", null, fragment));
}

function listCitations(citations) {
  citationList.replaceChildren();
  for (const c of citations) {
    const open = el("button", "link", `[${c.number}] ${c.document_name} ${clock(moment(c))}`);
    open.type = "button";
    open.addEventListener("click", () => openAt(c));
    const quote = c.text.length > 160 ? c.text.slice(0, 159) + "…" : c.text;
    const who = c.speaker ? el("span", "who", c.speaker + ": ") : "";
    citationList.append(el("li", "", null, open, " ", who, el("q", "", quote)));
  }
}

function showError(message) {
  answerBox.append(el("p", "error", message));
}

// The speaker filter, when one is typed or chosen: only what that speaker said is asked.
function speaker() {
  const who = $("#ask-speaker").value.trim();
  return who ? { speaker: who } : {};
}

async function ask(question, kbId) {
  passages = new Map();
  answerBox.replaceChildren(el("p", "muted", _("Thinking…")));
  citationList.replaceChildren();
  const response = await fetch(`/api/knowledge/${kbId}/ask/`, {
    method: "POST", credentials: "same-origin",
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify({ question, history: conversation.slice(-10), stream: true, ...speaker() }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    answerBox.replaceChildren();
    return showError(body.detail || response.statusText);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "", text = "", final = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const name = (/^event: (.+)$/m.exec(block) || [])[1];
      const data = (/^data: (.+)$/m.exec(block) || [])[1];
      if (!name || !data) continue;
      const payload = JSON.parse(data);
      if (name === "passages") for (const p of payload.passages) passages.set(p.number, p);
      else if (name === "token") { text += payload.text; render(text); }
      else if (name === "answer") { final = payload; render(payload.answer); listCitations(payload.citations); }
      else if (name === "error") showError(payload.detail);
    }
  }
  if (final) {
    conversation.push({ role: "user", content: question }, { role: "assistant", content: final.answer });
    $("#ask-reset").hidden = false;
  }
}

export function setUpAsk(currentKnowledgeBase) {
  $("#ask-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = $("#ask-input").value.trim();
    if (!question || !currentKnowledgeBase()) return;
    const button = $("#ask-form button[type=submit]");
    button.disabled = true;
    try {
      await ask(question, currentKnowledgeBase());
      $("#ask-input").value = "";
    } catch (error) {
      showError(error.message);
    } finally {
      button.disabled = false;
    }
  });
  $("#ask-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("#ask-form").requestSubmit(); }
  });
  $("#ask-reset").addEventListener("click", resetConversation);
}
