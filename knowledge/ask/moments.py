"""Which sentence of a hit answers the question: the moment a citation opens the media at, and
the order of the hits.

A paragraph holds several sentences (15-30 s of speech). Opening the media at its start can leave
the listener waiting through sentences that do not answer, and a paragraph's one vector blurs its
sentences together, so a short recording that merely shares the subject can outrank the paragraph
whose one sentence answers. Each paragraph keeps the ``[start, end, text]`` of the segments it was
cut from (``Paragraph.cues``). For the hits of a question, their cues are embedded with the
knowledge base's model in one call and compared with the question's vector (the one the search
ranked with):

- a hit's moment is the start of its cue closest to the question;
- a hit whose best cue is closer to the question than the whole paragraph gains the difference
  (its cosine becomes the cue's, which also counts for relevance: a long paragraph is not left
  out because its other sentences are about something else), and the hits are ordered again (a
  one-sentence paragraph already scored as its sentence).

Neighbours given for context, summaries and paragraphs indexed before cues were kept open at their
start and keep their score.

On bench/ask.py's 30 questions, the first citation opened within 5 s of the answer for 10 with
paragraph starts, 23 with cue moments, and 26 with the hits also ranked and kept by their best
cue (docs/benchmarks.md). The cost is about 1.2 ms a cue (USE on 2 cores), so at most MAX_CUES cues
are weighed per question, the best hits first.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from knowledge import embeddings, kb_embedding
from knowledge.models import KnowledgeBase, ParagraphKind
from knowledge.search import Hit

MAX_CUES = 40  # per question (about 50 ms of embedding on 2 cores)


def cues_of(hit: Hit) -> list[list]:
    p = hit.paragraph
    if p.kind != ParagraphKind.TRANSCRIPT:
        return []
    return [c for c in (p.cues or []) if isinstance(c, list) and len(c) == 3 and str(c[2]).strip()]


def weigh(knowledge_base: KnowledgeBase, vector: np.ndarray, hits: list[Hit]) -> tuple[list[Hit], dict[int, float]]:
    """The hits in their new order, and the moment of each weighed one (by paragraph id)."""
    weighed: list[tuple[int, list[list]]] = []
    budget = MAX_CUES
    for i, hit in enumerate(hits):
        cues = cues_of(hit)
        if 2 <= len(cues) <= budget and hit.vector_score is not None:
            weighed.append((i, cues))
            budget -= len(cues)
    if not weighed:
        return hits, {}
    texts = [str(c[2]) for _, cues in weighed for c in cues]
    similarity = embeddings.embed_queries(texts, kb_embedding.model_of(knowledge_base)) @ vector
    moments: dict[int, float] = {}
    rescored = list(hits)
    at = 0
    for i, cues in weighed:
        scores = similarity[at : at + len(cues)]
        at += len(cues)
        best = int(np.argmax(scores))
        hit = hits[i]
        moments[hit.paragraph.pk] = float(cues[best][0])
        gain = float(scores[best]) - hit.vector_score
        if gain > 0:  # its best sentence is closer in meaning than the whole paragraph
            rescored[i] = replace(hit, score=hit.score + gain, vector_score=float(scores[best]))
    order = sorted(range(len(rescored)), key=lambda i: (-rescored[i].score, i))
    return [rescored[i] for i in order], moments
