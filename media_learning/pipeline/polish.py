"""Optional LLM step over the timestamped paragraphs: restore punctuation and casing (and fix
obvious recognition errors) chunk by chunk, then write a summary.

- Paragraphs are sent in consecutive groups sized to the model's context window and answer
  length, as numbered JSON; each answer maps back to its paragraphs by id, so every polished
  paragraph keeps its source's start and end. The raw text is kept in ``raw_content``.
- An answer that cannot be used (not JSON, an id missing, a text much shorter or longer than
  its source) keeps those paragraphs as transcribed, with a warning.
- Long transcripts are summarised piece by piece, then the pieces' summaries are merged.
- When the LLM fails for good (still failing after the client's retries, or a configuration
  error such as a rejected key), the remaining LLM work is skipped: the document keeps its raw
  text and records why. Nothing here ever fails the document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from langchain_text_splitters import RecursiveCharacterTextSplitter

from knowledge.models import ParagraphKind
from llm_models import prompts
from llm_models.providers.base import LlmError
from llm_models.providers.openai_chat import ChatClient
from llm_models.tokens import estimate_messages, estimate_tokens, input_budget
from media_learning.pipeline.split import ParagraphDraft

ANSWER_SHARE = 0.75  # a polished chunk may use this much of max_tokens (the answer is as long as the input)
CONTENT_TRIES = 2  # attempts per chunk when the answer is not usable JSON
_WORDISH = re.compile(r"\w")

Progress = Callable[[float], None]


@dataclass
class LlmOutcome:
    drafts: list[ParagraphDraft]
    summary: str = ""
    warnings: list[str] = field(default_factory=list)
    error: LlmError | None = None  # why the LLM work stopped early, if it did


def _item_tokens(pid: int, text: str) -> int:
    return estimate_tokens(json.dumps({"id": pid, "text": text}, ensure_ascii=False))


def polish_budget(client: ChatClient, language: str) -> int:
    prompt = estimate_messages(prompts.polish_messages([], language))
    return min(int(client.max_tokens * ANSWER_SHARE), input_budget(client.context_window, client.max_tokens, prompt))


def plan_chunks(drafts: Sequence[ParagraphDraft], budget: int) -> tuple[list[list[int]], list[int]]:
    """Consecutive groups of paragraph indexes that fit ``budget`` tokens, and the indexes of
    paragraphs too long to send on their own."""
    chunks: list[list[int]] = []
    too_long: list[int] = []
    current: list[int] = []
    used = 0
    for i, draft in enumerate(drafts):
        cost = _item_tokens(i, draft.content)
        if cost > budget:
            too_long.append(i)
            continue
        if current and used + cost > budget:
            chunks.append(current)
            current, used = [], 0
        current.append(i)
        used += cost
    if current:
        chunks.append(current)
    return chunks, too_long


def parse_polished(answer: str) -> dict[int, str]:
    """``{"paragraphs": [{"id", "text"}]}`` from an answer, tolerating code fences and chatter."""
    start, end = answer.find("{"), answer.rfind("}")
    if start < 0 or end < start:
        raise ValueError("the answer holds no JSON object")
    items = json.loads(answer[start : end + 1])["paragraphs"]
    return {int(item["id"]): str(item["text"]).strip() for item in items}


def plausible(raw: str, polished: str) -> bool:
    """A polished text keeps about as many letters as its source (no summary, no invention)."""
    before, after = len(_WORDISH.findall(raw)), len(_WORDISH.findall(polished))
    return after > 0 and 0.6 <= after / max(1, before) <= 1.5


def _span(indexes: Sequence[int]) -> str:
    first, last = indexes[0] + 1, indexes[-1] + 1
    return f"paragraph {first}" if first == last else f"paragraphs {first}-{last}"


def _polish_chunk(client: ChatClient, drafts: list[ParagraphDraft], chunk: list[int], language: str) -> list[int]:
    """Polish one chunk in place; returns the indexes kept as transcribed."""
    messages = prompts.polish_messages([(i, drafts[i].content) for i in chunk], language)
    answer: dict[int, str] = {}
    for _ in range(CONTENT_TRIES):
        try:
            answer = parse_polished(client.complete(messages).text)
        except (ValueError, KeyError, TypeError):
            continue
        if answer.keys() & set(chunk):
            break
    kept = []
    for i in chunk:
        text = answer.get(i, "")
        if plausible(drafts[i].content, text):
            drafts[i] = replace(drafts[i], content=text, raw_content=drafts[i].raw_content or drafts[i].content)
        else:
            kept.append(i)
    return kept


def _summary_pieces(texts: Sequence[str], budget: int) -> list[str]:
    """Join texts into pieces of at most ``budget`` estimated tokens (a text too long on its own
    is cut with langchain's splitter)."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=max(200, budget * 2), chunk_overlap=0)
    pieces: list[str] = []
    current: list[str] = []
    for text in texts:
        parts = splitter.split_text(text) if estimate_tokens(text) > budget else [text]
        for part in parts:
            if current and estimate_tokens("\n\n".join([*current, part])) > budget:
                pieces.append("\n\n".join(current))
                current = []
            current.append(part)
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def _summary_budget(client: ChatClient, language: str, instructions: str) -> int:
    prompt = estimate_messages(prompts.summary_messages("", language, instructions, part=(99, 99), combine=True))
    return max(200, input_budget(client.context_window, client.max_tokens, prompt))


def summarize(client: ChatClient, texts: Sequence[str], language: str, instructions: str = "",
              on_request: Callable[[], None] | None = None) -> str:  # fmt: skip
    """One summary of ``texts`` (consecutive transcript paragraphs), map-reduced to fit the context."""
    budget = _summary_budget(client, language, instructions)
    pieces = _summary_pieces(texts, budget)
    combine = False
    while len(pieces) > 1:
        partial = []
        for index, piece in enumerate(pieces, 1):
            messages = prompts.summary_messages(piece, language, instructions, part=(index, len(pieces)))
            partial.append(client.complete(messages).text.strip())
            if on_request:
                on_request()
        pieces, combine = _summary_pieces([p for p in partial if p], budget), True
    if not pieces:
        return ""
    summary = client.complete(prompts.summary_messages(pieces[0], language, instructions, combine=combine)).text
    if on_request:
        on_request()
    return summary.strip()


def polish_and_summarize(
    client: ChatClient,
    drafts: Sequence[ParagraphDraft],
    language: str,
    *,
    punctuation: bool = True,
    summary: bool = True,
    summary_prompt: str = "",
    on_progress: Progress | None = None,
) -> LlmOutcome:
    """Run the LLM work for one document's paragraphs; never raises LlmError."""
    outcome = LlmOutcome(drafts=list(drafts))
    chunks, too_long = plan_chunks(outcome.drafts, polish_budget(client, language)) if punctuation else ([], [])
    total = len(chunks)
    if summary:  # requests for the summary: one per part, plus one that merges them
        pieces = len(_summary_pieces([d.content for d in drafts], _summary_budget(client, language, summary_prompt)))
        total += pieces + (pieces > 1)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if on_progress:
            on_progress(min(1.0, done / max(1, total)))

    if too_long:
        outcome.warnings.append(
            f"polishing: {len(too_long)} paragraph(s) too long for the LLM's context were kept as transcribed"
        )
    unusable = 0
    unpolished = ""  # the paragraphs left as transcribed when the LLM stops mid-way
    try:
        for number, chunk in enumerate(chunks):
            unpolished = f"; {_span([i for c in chunks[number:] for i in c])} kept as transcribed"
            unusable += len(_polish_chunk(client, outcome.drafts, chunk, language))
            step()
        unpolished = ""
        if summary:
            texts = [d.content for d in outcome.drafts]
            outcome.summary = summarize(client, texts, language, summary_prompt, on_request=step)
            if not outcome.summary:
                outcome.warnings.append("summary: the LLM returned an empty summary")
    except LlmError as exc:
        outcome.error = exc
        missing = "; no summary" if summary and not outcome.summary else ""
        outcome.warnings.append(f"LLM step incomplete, raw transcript kept: {exc}{unpolished}{missing}")
    if unusable:
        outcome.warnings.append(
            f"polishing: the LLM's answer was unusable for {unusable} paragraph(s); kept as transcribed"
        )
    return outcome


def summary_drafts(summary: str, start: float, end: float, max_chars: int) -> list[ParagraphDraft]:
    """The summary as searchable paragraphs spanning the whole media."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=max_chars, chunk_overlap=0)
    return [
        ParagraphDraft(content=piece.strip(), start=start, end=end, kind=ParagraphKind.SUMMARY)
        for piece in splitter.split_text(summary)
        if piece.strip()
    ]
