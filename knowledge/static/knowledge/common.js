// Helpers shared by the page's modules: translated words (Django's JavaScript catalog), the
// REST API with the session's CSRF token, times, and text that is always set as text (never
// as HTML: every name and transcript is the user's data).
"use strict";

export const _ = (text) => (window.gettext ? window.gettext(text) : text);
export const fill = (text, values) => (window.interpolate ? window.interpolate(_(text), values, true)
  : _(text).replace(/%\((\w+)\)s/g, (match, key) => values[key]));
export const $ = (selector, root = document) => root.querySelector(selector);

export const LANGUAGE_NAMES = { zh: "Chinese", en: "English", yue: "Cantonese", ja: "Japanese", ko: "Korean",
  fr: "French", de: "German", es: "Spanish" };

export function languageName(code) {
  return code ? `${_(LANGUAGE_NAMES[code] || code)} (${code})` : "";
}

export function clock(seconds) {
  const s = Math.floor(seconds || 0), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s % 60);
}

export function headers(extra = {}) {
  return Object.assign({ "X-CSRFToken": window.CSRF_TOKEN, Accept: "application/json" }, extra);
}

export async function api(path, options = {}) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options,
    { headers: headers(options.headers) }));
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error((body && body.detail) || response.statusText);
  return body;
}

// An element with a class and text content (children appended as they are).
export function el(tag, className, text, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  for (const child of children) node.append(child);
  return node;
}

// Words too common to mark (the search's English stemmer drops them too).
const COMMON = new Set(("the and for are was were that this with from have has had not but you your they them their " +
  "what when where which who how why does did can could would should will about into than then there these those " +
  "our out all any its").split(" "));

// The words of a query to mark in results: Latin words of three letters or more that are not
// common (their first five letters, so that "timestamps" marks "timestamp"), and every
// two-character piece of a Chinese run (the search segments Chinese into words; pairs approximate).
function queryTerms(query) {
  const terms = new Set();
  for (const word of query.toLowerCase().match(/[\p{L}\p{N}]+/gu) || []) {
    if (/\p{Script=Han}/u.test(word)) {
      const han = [...word].filter((c) => /\p{Script=Han}/u.test(c));
      for (let i = 0; i + 1 < han.length; i += 1) terms.add(han[i] + han[i + 1]);
    } else if (word.length >= 3 && !COMMON.has(word)) {
      terms.add(word.slice(0, 5));
    }
  }
  return [...terms];
}

const LETTER = /[\p{L}\p{N}]/u;
const HAN = /\p{Script=Han}/u;

// ``text`` with the query's words in <mark>, built as text nodes (nothing is parsed as HTML).
export function highlighted(text, query) {
  const lower = text.toLowerCase();
  const spans = [];
  for (const term of queryTerms(query)) {
    const latin = !HAN.test(term);
    for (let at = lower.indexOf(term); at !== -1; at = lower.indexOf(term, at + term.length)) {
      if (latin && at > 0 && LETTER.test(text[at - 1])) continue;  // inside a word ("further")
      let end = at + term.length;
      while (latin && end < text.length && LETTER.test(text[end])) end += 1;
      spans.push([at, end]);
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const [start, end] of spans) {
    if (end <= last) continue;
    const from = Math.max(start, last);
    if (from > last) fragment.append(text.slice(last, from));
    fragment.append(el("mark", "", text.slice(from, end)));
    last = end;
  }
  fragment.append(text.slice(last));
  return fragment;
}
