"""Where in a passage its answer is said: the moment a citation opens the media at.

A paragraph holds several sentences (15-30 s of speech), so opening the media at its start can
leave the listener waiting through sentences that do not answer. Each paragraph keeps the
``[start, end, text]`` of the segments it was cut from (``Paragraph.cues``). For each passage that
search found, the question and the passage's cues are embedded with the knowledge base's model in
one call, and the passage's moment is the start of the cue closest to the question in meaning
(across languages too: the model is multilingual). Neighbours given for context, summaries and
paragraphs indexed before cues were kept open at their start.

On bench/ask.py's 30 questions, the first citation opened within 5 s of the answer for 10 of
them at the paragraph's start, and for NN with the cue's (docs/benchmarks.md). The cost is one
embedding call of about 1.2 ms a cue (USE on 2 cores), so at most MAX_CUES cues are weighed per
question, the best passages first.
"""

from __future__ import annotations

import numpy as np

from knowledge import embeddings, kb_embedding
from knowledge.ask.passages import Passage
from knowledge.chinese_script import to_script
from knowledge.models import KnowledgeBase, ParagraphKind

MAX_CUES = 40  # per question (about 50 ms of embedding on 2 cores)


def _cues(passage: Passage) -> list[list]:
    p = passage.paragraph
    if not passage.hit or p.kind != ParagraphKind.TRANSCRIPT:
        return []
    return [c for c in (p.cues or []) if isinstance(c, list) and len(c) == 3 and str(c[2]).strip()]


def place(knowledge_base: KnowledgeBase, question: str, passages: list[Passage]) -> None:
    """Set ``moment`` on the passages found by search whose paragraph has more than one cue."""
    weighed: list[tuple[Passage, list[list]]] = []
    budget = MAX_CUES
    for passage in passages:
        cues = _cues(passage)
        if len(cues) < 2 or len(cues) > budget:
            continue
        weighed.append((passage, cues))
        budget -= len(cues)
    if not weighed:
        return
    texts = [to_script(question, knowledge_base.script)] + [str(c[2]) for _, cues in weighed for c in cues]
    vectors = embeddings.embed_queries(texts, kb_embedding.model_of(knowledge_base))
    similarity = vectors[1:] @ vectors[0]
    at = 0
    for passage, cues in weighed:
        best = int(np.argmax(similarity[at : at + len(cues)]))
        passage.moment = float(cues[best][0])
        at += len(cues)
