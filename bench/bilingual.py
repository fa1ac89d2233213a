"""Retrieval across Chinese and English: the bilingual set (bench/bilingual_set.py: 40 English and
40 Mandarin transcript-like paragraphs on 80 subjects, each with a paraphrased question in its own
language and one in the other) indexed in one knowledge base, one document per paragraph with its
language, through the pipeline's own indexing (``media_learning.pipeline.index``), then every
question through ``knowledge.search.search`` (hybrid, the API's default).

For each group (question language -> paragraph language) it reports hit@1 (the right paragraph
first) and MRR@10, for the default embedding model and, for comparison, for
all-MiniLM-L6-v2 (the earlier English-only default) in a second knowledge base.

Last line: ``zh_zh_hit1=A en_zh_hit1=B zh_en_hit1=C en_en_mrr=D minilm_en_en_mrr=E``; targets
A >= 0.9, B >= 0.8, C >= 0.8, D >= E - 0.02.

    .venv/bin/python bench/bilingual.py
"""

from __future__ import annotations

import sys
import time

import common
from bilingual_set import CHINESE, ENGLISH

GROUPS = ("zh->zh", "en->zh", "zh->en", "en->en")


def build(name: str, model: str):
    from django.db import transaction

    from knowledge import embeddings
    from knowledge.models import Document, KnowledgeBase, Status
    from media_learning.pipeline import index
    from media_learning.pipeline.split import ParagraphDraft

    kb = KnowledgeBase.objects.create(
        name=name, embedding_model=model, embedding_dimensions=embeddings.dimensions(model)
    )
    targets = {}
    for language, rows in (("en", ENGLISH), ("zh", CHINESE)):
        for i, (paragraph, _, _) in enumerate(rows):
            doc = Document.objects.create(knowledge_base=kb, name=f"{language}-{i}", sha256="0" * 64,
                                          status=Status.SUCCESS, language=language, duration=60.0)  # fmt: skip
            drafts = [ParagraphDraft(content=paragraph, start=0.0, end=30.0)]
            used, vectors = index.embed_drafts(doc, drafts)
            index.prepare_index(used, vectors)
            with transaction.atomic():
                index.replace_paragraphs(doc, drafts, used, vectors)
            targets[(language, i)] = doc.pk
    return kb, targets


def questions(targets: dict) -> dict[str, list[tuple[str, int]]]:
    asked = {group: [] for group in GROUPS}
    for i, (_, same, other) in enumerate(ENGLISH):
        asked["en->en"].append((same, targets[("en", i)]))
        asked["zh->en"].append((other, targets[("en", i)]))
    for i, (_, same, other) in enumerate(CHINESE):
        asked["zh->zh"].append((same, targets[("zh", i)]))
        asked["en->zh"].append((other, targets[("zh", i)]))
    return asked


def score(kb, targets: dict) -> dict[str, tuple[float, float]]:
    from knowledge.search import search

    found = {}
    for group, asked in questions(targets).items():
        hits, reciprocal = 0, 0.0
        for question, document_id in asked:
            ranked = [hit.paragraph.document_id for hit in search(kb, question, top_k=10)]
            rank = ranked.index(document_id) + 1 if document_id in ranked else None
            hits += rank == 1
            reciprocal += 1.0 / rank if rank else 0.0
        found[group] = (hits / len(asked), reciprocal / len(asked))
    return found


def main() -> None:
    common.setup_django()
    from knowledge import embeddings

    stamp = time.time_ns()
    default, minilm = embeddings.model_name(), embeddings.MINILM
    results = {}
    made = []
    try:
        for model in dict.fromkeys([default, minilm]):
            kb, targets = build(f"bench-bilingual-{model}-{stamp}", model)
            made.append(kb)
            results[model] = score(kb, targets)
            line = " ".join(f"{g} hit@1={h:.2f} mrr={m:.2f}" for g, (h, m) in results[model].items())
            print(f"{model}: {line}", file=sys.stderr)
    finally:
        for kb in made:
            kb.delete()
    ours, theirs = results[default], results[minilm]
    print(f"zh_zh_hit1={ours['zh->zh'][0]:.2f} en_zh_hit1={ours['en->zh'][0]:.2f} zh_en_hit1={ours['zh->en'][0]:.2f} "
          f"en_en_mrr={ours['en->en'][1]:.2f} minilm_en_en_mrr={theirs['en->en'][1]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
