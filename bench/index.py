"""Indexing speed: paragraphs per second embedded and stored by the pipeline, against bare
encoding of the same texts by the model itself (``encode`` of USE or of the
sentence-transformers model), in the same run.

Generated paragraphs the size the splitter makes (3-6 sentences, about 200-700 characters) go
in documents of 100, each through the pipeline's own indexing exactly as a worker runs it:
``index.embed_drafts`` (the knowledge base's model), ``index.prepare_index``, then one
transaction with ``index.replace_paragraphs`` (the knowledge-base lock and model check, a
binary COPY of the paragraphs and vectors into the indexed table, the tsvector UPDATE). The bare side encodes the same
texts with the same model and batch size in one call. The two alternate for ``--rounds`` rounds
and the best of each counts (the machine is shared). Last line: ``ratio=R`` (pipeline speed /
bare encode speed); target at least 0.80.

    .venv/bin/python bench/index.py [--paragraphs 3000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import common
from search import COMMON, TOPICS


def paragraph(rng: random.Random) -> str:
    words = TOPICS[rng.choice(list(TOPICS))].split()
    sentences = []
    for _ in range(rng.randint(3, 6)):
        picked = [rng.choice(words) if rng.random() < 0.5 else rng.choice(COMMON) for _ in range(rng.randint(8, 16))]
        sentences.append(" ".join(picked).capitalize() + ".")
    return " ".join(sentences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paragraphs", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    common.setup_django()
    from django.conf import settings
    from django.db import transaction

    from knowledge import embeddings
    from knowledge.models import Document, KnowledgeBase, Status
    from media_learning.pipeline import index
    from media_learning.pipeline.split import ParagraphDraft

    rng = random.Random(11)
    texts = [paragraph(rng) for _ in range(args.paragraphs)]
    per_doc = 100
    model = embeddings.get_model()

    def bare_encode(batch: list[str]) -> None:
        if isinstance(model, embeddings.UseEncoder):  # the default: its own batching
            model.encode(batch)
        else:
            model.encode(batch, batch_size=settings.EMBEDDING_BATCH_SIZE, normalize_embeddings=True,
                         convert_to_numpy=True, show_progress_bar=False)  # fmt: skip

    bare_encode(texts[:64])  # warm up
    print(f"model {embeddings.model_name()}", file=sys.stderr)
    print(f"{len(texts)} paragraphs, mean {sum(map(len, texts)) / len(texts):.0f} characters", file=sys.stderr)
    kb = KnowledgeBase.objects.create(name=f"bench-index-{os.getpid()}")
    docs = [Document.objects.create(knowledge_base=kb, name=f"talk-{i}.mp3", sha256="0" * 64, status=Status.SUCCESS,
                                    file="bench.mp3") for i in range(0, len(texts), per_doc)]  # fmt: skip
    best_bare = best_pipeline = 0.0
    try:
        for round_ in range(args.rounds):
            started = time.perf_counter()
            bare_encode(texts)
            bare = len(texts) / (time.perf_counter() - started)

            started = time.perf_counter()
            for n, doc in enumerate(docs):
                chunk = texts[n * per_doc : (n + 1) * per_doc]
                drafts = [ParagraphDraft(content=t, start=10.0 * i, end=10.0 * i + 9) for i, t in enumerate(chunk)]
                used, vectors = index.embed_drafts(doc, drafts)
                index.prepare_index(used, vectors)
                with transaction.atomic():
                    index.replace_paragraphs(doc, drafts, used, vectors)
            pipeline = len(texts) / (time.perf_counter() - started)
            print(f"round {round_ + 1}: bare encode {bare:.0f}/s, pipeline embed+store {pipeline:.0f}/s",
                  file=sys.stderr)  # fmt: skip
            best_bare, best_pipeline = max(best_bare, bare), max(best_pipeline, pipeline)
    finally:
        common.clean_up(kb)
    print(f"paragraphs/s: bare {best_bare:.0f}, pipeline {best_pipeline:.0f}")
    print(f"ratio={best_pipeline / best_bare:.3f}")


if __name__ == "__main__":
    main()
