"""The numbered passages a question is answered from.

The question goes through the knowledge base's hybrid search (transcript paragraphs and
summaries). Hits that are not relevant enough are left out: on bench/bilingual.py's set (USE v3)
the right paragraph's cosine similarity to its question had a median of 0.40 and a 5th
percentile of 0.19, while questions on subjects the knowledge base does not hold found at best
0.17-0.35; MIN_COSINE therefore only refuses what is clearly unrelated (a hit that also matches
the question's words may be less similar in meaning), and the model is told to say so when the
passages do not answer. Each relevant transcript hit brings its neighbouring paragraphs (the
sentence before and after often hold the answer's subject), each its own numbered passage with
its own moment. The hits are weighed by their sentences first (``moments``: where in each the
answer is said, and a long paragraph ranked by its best sentence). Passages are added in the
order of their hits until the input budget is spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from knowledge import kb_embedding, search
from knowledge.ask import moments
from knowledge.models import KnowledgeBase, Paragraph, ParagraphKind
from llm_models.tokens import estimate_tokens

MIN_COSINE = 0.15  # below this a hit is not relevant (see above) ...
MIN_COSINE_WITH_WORDS = 0.05  # ... unless it also holds the question's words (names, codes)
NEIGHBOURS = 1  # paragraphs on each side of a hit
MAX_PASSAGE_CHARS = 4000  # a longer paragraph is cut (summaries of long recordings)
NAME_CHARS = 120


@dataclass
class Passage:
    number: int
    paragraph: Paragraph
    hit: bool  # found by the search (else a neighbour of a hit)
    max_chars: int = MAX_PASSAGE_CHARS
    moment: float | None = None  # where in it the answer is said (moments.weigh), else its start

    @property
    def at(self) -> float:
        """The second a citation of it opens the media at."""
        return self.paragraph.start if self.moment is None else self.moment

    @property
    def document_name(self) -> str:
        """The document's name on one line, shortened: a name is the user's data, and goes into
        the prompt only as a label."""
        name = " ".join(self.paragraph.document.name.split())
        return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"

    @property
    def text(self) -> str:
        content = self.paragraph.content.strip()
        return content if len(content) <= self.max_chars else content[: self.max_chars] + "…"

    def render(self) -> str:
        p = self.paragraph
        where = "summary" if p.kind == ParagraphKind.SUMMARY else f"{clock(p.start)}-{clock(p.end)}"
        who = f", {' '.join(p.speaker.split())[:NAME_CHARS]}" if p.speaker else ""  # a label, like the name
        return f"[{self.number}] ({self.document_name}, {where}{who})\n{self.text}"


def clock(seconds: float) -> str:
    """h:mm:ss, or m:ss under an hour."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def relevant(hit: search.Hit) -> bool:
    cosine = hit.vector_score if hit.vector_score is not None else -1.0
    return cosine >= MIN_COSINE or (hit.keyword_score is not None and cosine >= MIN_COSINE_WITH_WORDS)


def relevant_hits(knowledge_base: KnowledgeBase, query: str, top_k: int,
                  documents: search.Documents = None) -> tuple[list[search.Hit], dict[int, float]]:  # fmt: skip
    """The hybrid search's relevant hits, ordered again by their best sentence, and where in
    each the answer is said (``moments``: seconds by paragraph id)."""
    vector = search.query_vector(knowledge_base, query, kb_embedding.model_of(knowledge_base))
    hits = search.hybrid_search(knowledge_base, query, top_k, vector=vector, documents=documents)
    hits, at = moments.weigh(knowledge_base, vector, hits)
    return [hit for hit in hits if relevant(hit)], at


def _neighbours(hits: list[search.Hit], speaker: str | None = None) -> dict[tuple[int, int], Paragraph]:
    """The transcript paragraphs next to the transcript hits, by (document id, position); only
    ``speaker``'s when the question is about what one speaker says."""
    wanted = Q(pk__in=[])
    for hit in hits:
        p = hit.paragraph
        if p.kind == ParagraphKind.TRANSCRIPT:
            around = [p.position + d for d in range(-NEIGHBOURS, NEIGHBOURS + 1) if d and p.position + d >= 0]
            wanted |= Q(document_id=p.document_id, position__in=around)
    rows = Paragraph.objects.filter(wanted, kind=ParagraphKind.TRANSCRIPT).select_related("document")
    if speaker is not None:
        rows = rows.filter(speaker__iexact=speaker)
    return {(p.document_id, p.position): p for p in rows.only(*search.SHOWN, "document__name", "document__file")}


def gather(hits: list[search.Hit], budget: int, speaker: str | None = None,
           at: dict[int, float] | None = None) -> list[Passage]:  # fmt: skip
    """The hits with their neighbours (``speaker``'s only, when given), numbered from 1 in the
    order given (each hit's group in time order), as many groups as fit ``budget`` tokens; the
    first hit always goes in. ``at``: the moment of a hit's passage, by paragraph id."""
    around = _neighbours(hits, speaker)
    passages: list[Passage] = []
    taken: set[int] = set()
    spent = 0
    for hit in hits:
        p = hit.paragraph
        if p.pk in taken:
            continue
        group = [p]
        if p.kind == ParagraphKind.TRANSCRIPT:
            before = [around.get((p.document_id, p.position - d)) for d in range(NEIGHBOURS, 0, -1)]
            after = [around.get((p.document_id, p.position + d)) for d in range(1, NEIGHBOURS + 1)]
            group = [n for n in before if n is not None] + [p] + [n for n in after if n is not None]
        group = [n for n in group if n.pk not in taken]
        drafts = [Passage(len(passages) + i + 1, n, n.pk == p.pk, moment=(at or {}).get(n.pk) if n.pk == p.pk else None)
                  for i, n in enumerate(group)]  # fmt: skip
        cost = sum(estimate_tokens(d.render()) + 2 for d in drafts)
        if spent + cost > budget:
            drafts = [d for d in drafts if d.hit]  # the hit alone, without its neighbours
            drafts[0].number = len(passages) + 1
            cost = estimate_tokens(drafts[0].render()) + 2
            while not passages and cost > budget and drafts[0].max_chars > 200:
                drafts[0].max_chars //= 2  # the first hit goes in, shortened to fit
                cost = estimate_tokens(drafts[0].render()) + 2
            if passages and spent + cost > budget:
                break
        passages.extend(drafts)
        taken.update(d.paragraph.pk for d in drafts)
        spent += cost
    return passages


def render(passages: list[Passage]) -> str:
    return "\n\n".join(p.render() for p in passages)
