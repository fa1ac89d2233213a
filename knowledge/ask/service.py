"""One question put to a knowledge base, answered from its passages with citations.

``answer`` returns the whole answer; ``stream`` yields it as it is written: first the passages
(so that a page can link citations while the text arrives), then the pieces of text, then the
final answer with its citations checked. Either way the question is recorded
(``knowledge.Question``) with the LLM's token usage. When search finds nothing relevant enough
the answer says that the knowledge base does not say, and the LLM is not asked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import UserError
from knowledge import search
from knowledge.ask import citations as citing
from knowledge.ask import passages as gathering
from knowledge.ask.passages import Passage
from knowledge.models import AnswerOutcome, Document, KnowledgeBase, Question
from llm_models import prompts
from llm_models.models import LanguageModel
from llm_models.providers.base import LlmError, LlmUnavailable
from llm_models.registry import LanguageModelNotFound, get_client, resolve_language_model
from llm_models.tokens import estimate_messages, input_budget

log = logging.getLogger(__name__)

DEFAULT_TOP_K = 8
MAX_TOP_K = 30
MAX_HISTORY_TURNS = 20
HISTORY_SHARE = 0.25  # of the input budget that earlier turns may take (the latest kept first)
QUERY_FROM_HISTORY_CHARS = 500  # of the previous question, added to a follow-up's search


class AskRefused(UserError):
    """The question cannot be asked as given (no LLM, unknown document, ...): a one-line reason."""

    code = "ask_refused"


@dataclass
class Answer:
    question: str
    language: str
    text: str = ""
    outcome: str = AnswerOutcome.ANSWERED
    passages: list[Passage] = field(default_factory=list)  # what the model was given
    citations: list[Passage] = field(default_factory=list)  # what it cited, in order
    invalid_citations: list[int] = field(default_factory=list)
    llm_model: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    error: str = ""
    retryable: bool = False  # the LLM failed in a way that may pass (429, 5xx, timeout)
    seconds: float = 0.0
    record_id: int | None = None


@dataclass
class _Prepared:
    answer: Answer
    model: LanguageModel
    messages: list[dict[str, str]]


def _history(turns: Sequence[dict[str, Any]] | None) -> list[dict[str, str]]:
    cleaned = []
    for turn in list(turns or [])[-MAX_HISTORY_TURNS:]:
        role, content = turn.get("role"), str(turn.get("content") or "").strip()
        if role in ("user", "assistant") and content:
            cleaned.append({"role": role, "content": content})
    return cleaned


def _fit_history(history: list[dict[str, str]], budget: int) -> list[dict[str, str]]:
    """The latest turns that fit ``budget`` tokens, oldest first, starting with a user turn."""
    kept: list[dict[str, str]] = []
    for turn in reversed(history):
        if estimate_messages([*kept, turn]) > budget:
            break
        kept.insert(0, turn)
    while kept and kept[0]["role"] != "user":
        kept.pop(0)
    return kept


def _search_query(question: str, history: list[dict[str, str]]) -> str:
    """The question, after the previous question when this one follows up on it ("and when?")."""
    earlier = [t["content"] for t in history if t["role"] == "user"]
    return f"{earlier[-1][:QUERY_FROM_HISTORY_CHARS]}\n{question}" if earlier else question


def _documents(knowledge_base: KnowledgeBase, ids: Sequence[int] | None) -> list[int] | None:
    if not ids:
        return None
    wanted = list(dict.fromkeys(int(i) for i in ids))
    found = set(Document.objects.filter(knowledge_base=knowledge_base, pk__in=wanted).values_list("pk", flat=True))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise AskRefused(f"document {missing[0]} is not in knowledge base {knowledge_base.pk}")
    return wanted


def prepare(knowledge_base: KnowledgeBase, question: str, *, llm_model: str | int | None = None,
            top_k: int = DEFAULT_TOP_K, documents: Sequence[int] | None = None,
            history: Sequence[dict[str, Any]] | None = None, speaker: str | None = None) -> _Prepared:  # fmt: skip
    """Find the passages and write the messages; AskRefused for what cannot be asked."""
    question = " ".join(question.split())
    if not question:
        raise AskRefused("the question is empty")
    try:
        model = resolve_language_model(llm_model, default=True)
    except LanguageModelNotFound as exc:
        raise AskRefused(f"{exc} (an admin adds one under Language models)") from None
    language = prompts.question_language(question)
    turns = _history(history)
    only = _documents(knowledge_base, documents)
    top_k = max(1, min(MAX_TOP_K, int(top_k)))
    answer = Answer(question=question, language=language, llm_model=model.name)

    bare = prompts.ask_messages("", question, language)
    budget = input_budget(model.context_window, model.max_tokens, estimate_messages(bare))
    turns = _fit_history(turns, int(budget * HISTORY_SHARE))
    budget -= estimate_messages(turns) if turns else 0
    scope = search.Scope(documents=only, speaker=speaker) if speaker else only
    hits, at = gathering.relevant_hits(knowledge_base, _search_query(question, turns), top_k, scope)
    answer.passages = gathering.gather(hits, budget, speaker, at) if hits else []
    messages = prompts.ask_messages(gathering.render(answer.passages), question, language, turns)
    return _Prepared(answer=answer, model=model, messages=messages)


def _not_found(answer: Answer) -> Answer:
    answer.outcome = AnswerOutcome.NOT_FOUND
    answer.text = prompts.NOT_IN_KNOWLEDGE_BASE[answer.language]
    return answer


def _finish(prepared: _Prepared, text: str) -> Answer:
    answer = prepared.answer
    cited = citing.cite(text, answer.passages)
    answer.text, answer.citations, answer.invalid_citations = cited.text, cited.passages, cited.invalid
    if cited.invalid:
        log.info("answer cited passages it was not given: %s (of %d)", cited.invalid, len(answer.passages))
    return answer


def _failed(answer: Answer, exc: LlmError) -> Answer:
    answer.outcome = AnswerOutcome.FAILED
    answer.error = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
    answer.retryable = isinstance(exc, LlmUnavailable)
    return answer


def _record(knowledge_base: KnowledgeBase, answer: Answer, user: Any, started: float) -> Answer:
    answer.seconds = round(time.perf_counter() - started, 3)
    record = Question.objects.create(
        knowledge_base=knowledge_base,
        user=user if getattr(user, "is_authenticated", False) else None,
        question=answer.question,
        language=answer.language,
        answer=answer.text,
        outcome=answer.outcome,
        error=answer.error,
        citations=[
            {
                "number": p.number,
                "document_id": p.paragraph.document_id,
                "paragraph_id": p.paragraph.pk,
                "start": p.paragraph.start,
                "end": p.paragraph.end,
                "moment": p.at,
            }  # fmt: skip
            for p in answer.citations
        ],
        invalid_citations=answer.invalid_citations,
        passages=len(answer.passages),
        llm_model=answer.llm_model,
        usage=answer.usage,
        seconds=answer.seconds,
    )
    answer.record_id = record.pk
    return answer


def answer(knowledge_base: KnowledgeBase, question: str, *, user: Any = None, **options: Any) -> Answer:
    """The whole answer at once (``options``: llm_model, top_k, documents, history, speaker)."""
    started = time.perf_counter()
    prepared = prepare(knowledge_base, question, **options)
    result = prepared.answer
    if not result.passages:
        return _record(knowledge_base, _not_found(result), user, started)
    try:
        with get_client(prepared.model) as client:
            try:
                reply = client.complete(prepared.messages)
            finally:
                result.usage = client.usage.as_dict()
        result = _finish(prepared, reply.text)
    except LlmError as exc:
        result = _failed(result, exc)
    return _record(knowledge_base, result, user, started)


def stream(knowledge_base: KnowledgeBase, question: str, *, user: Any = None,
           **options: Any) -> Iterator[tuple[str, Any]]:  # fmt: skip
    """("passages", [Passage]), then ("token", text) for each piece as the model writes it, then
    ("answer", Answer) — its outcome says whether it failed. AskRefused is raised before the
    first event, so that a caller can still answer 400."""
    started = time.perf_counter()
    prepared = prepare(knowledge_base, question, **options)
    return _streamed(knowledge_base, prepared, user, started)


def _streamed(knowledge_base: KnowledgeBase, prepared: _Prepared, user: Any,
              started: float) -> Iterator[tuple[str, Any]]:  # fmt: skip
    result = prepared.answer
    yield "passages", result.passages
    if not result.passages:
        result = _not_found(result)
        yield "token", result.text
        yield "answer", _record(knowledge_base, result, user, started)
        return
    pieces: list[str] = []
    try:
        with get_client(prepared.model) as client:
            try:
                for piece in client.stream(prepared.messages):
                    pieces.append(piece)
                    yield "token", piece
            finally:
                result.usage = client.usage.as_dict()
        result = _finish(prepared, "".join(pieces))
    except LlmError as exc:
        result = _failed(result, exc)
        result.text = "".join(pieces)
    except GeneratorExit:  # the client went away: keep what was said, then stop
        result = _failed(result, LlmUnavailable("the answer was not read to its end (the client left)"))
        result.text = "".join(pieces)
        _record(knowledge_base, result, user, started)
        raise
    yield "answer", _record(knowledge_base, result, user, started)
