"""Search at scale: 100,000 generated paragraphs in one knowledge base.

Paragraphs are generated from 40 topics (one to three sentences each, from topic and common
vocabularies, fixed seed), embedded with the real bundled model (cached under var/bench-cache
for re-runs), written with COPY, given their search vectors, and indexed (HNSW and GIN) as the
pipeline does. 200 queries of 3-6 topic words then go through ``knowledge.search.search``
exactly as the API calls it, query embedding included, timed back to back as a server answers
them; the query embedding alone and the searches with the query already embedded are timed
too (stderr). Recall@10 is measured against exact search: exact
cosine ranking in numpy for `vector`, and for `hybrid` the same fusion over the exact vector
ranking (its English paragraphs' cosines mixed with MiniLM's for an English query, as search
does: knowledge/english_vectors.py) and the keyword ranking. Last line:
``recall@10=R p50_ms=A p95_ms=B`` for hybrid search (the API's default); targets recall@10 >= 0.95
and p95 <= 25 ms on 2 cores.

    .venv/bin/python bench/search.py [--paragraphs 100000] [--queries 200] [--keep | --reuse NAME]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import statistics
import sys
import time

import common
import numpy as np

TOPICS = {
    "astronomy": "planet star galaxy orbit telescope comet nebula moon gravity asteroid eclipse crater",
    "baking": "bread dough oven flour yeast crust knead loaf butter sugar pastry bake",
    "networking": "router packet firewall latency bandwidth switch protocol modem cable wireless dns gateway",
    "databases": "index query table row column transaction replica vacuum schema join postgres cache",
    "gardening": "soil seed compost tomato prune water garden root leaf flower harvest weed",
    "finance": "budget invoice interest loan revenue tax profit stock bond dividend audit cash",
    "medicine": "patient dose symptom vaccine fever clinic surgery nurse diagnosis therapy blood heart",
    "music": "guitar melody chord rhythm piano drum concert singer lyric tempo orchestra album",
    "football": "goal striker keeper penalty league referee pass tackle stadium coach season match",
    "cooking": "sauce garlic onion pepper simmer roast pan recipe salt herb grill stew",
    "climate": "carbon emission warming glacier drought rainfall ocean heat storm forecast wind flood",
    "history": "empire war treaty king revolution dynasty castle archive battle colony century ruin",
    "chemistry": "molecule acid reaction bond electron catalyst solvent atom ion crystal oxide lab",
    "travel": "flight hotel passport luggage airport ticket train border visa museum beach tour",
    "education": "student teacher exam lesson homework classroom grade lecture school course degree essay",
    "law": "court judge contract lawsuit witness verdict appeal statute attorney evidence jury clause",
    "software": "bug deploy compiler function test branch merge release api library debug refactor",
    "cars": "engine brake tire fuel gearbox battery mileage clutch exhaust dashboard sedan motor",
    "fitness": "muscle workout stretch cardio weight squat protein running yoga endurance gym sprint",
    "photography": "lens shutter aperture exposure tripod portrait flash sensor zoom focus lighting frame",
    "oceans": "coral reef whale tide current plankton shark kelp salinity trench diver wave",
    "politics": "election vote parliament policy candidate campaign minister debate senate reform ballot party",
    "architecture": "bridge tower facade concrete beam arch column blueprint steel window roof foundation",
    "agriculture": "wheat tractor harvest irrigation cattle fertilizer barn crop farmer grain pasture dairy",
    "psychology": "memory emotion behavior anxiety habit motivation perception stress therapy mind sleep dream",
    "energy": "solar turbine grid battery voltage reactor pipeline coal power charge wind hydrogen",
    "art": "painting canvas sculpture gallery brush portrait museum color sketch mural exhibit easel",
    "biology": "cell gene protein enzyme species evolution bacteria virus tissue organism membrane dna",
    "economics": "inflation market supply demand trade tariff wage growth recession currency price labor",
    "security": "password encryption attack malware phishing breach token certificate audit vulnerability key patch",
    "weather": "cloud snow thunder humidity pressure sunshine fog frost hail breeze temperature rain",
    "film": "director scene actor script camera premiere studio editing sequel cinema trailer plot",
    "retail": "customer checkout discount shelf inventory cashier receipt brand store order delivery refund",
    "aviation": "pilot runway cockpit altitude turbulence jet wing landing hangar radar cabin takeoff",
    "mathematics": "equation proof theorem integral matrix vector prime function graph limit angle sum",
    "pets": "puppy kitten leash collar vet litter treat fur cage parrot aquarium groom",
    "shipping": "container port cargo vessel crane freight dock anchor captain harbor route customs",
    "writing": "novel chapter author draft editor poem publisher plot character verse manuscript prose",
    "space": "rocket launch astronaut orbit capsule satellite mission module station payload booster spacewalk",
    "health": "diet vitamin sleep hydration exercise checkup cholesterol sugar wellness posture habit stress",
}
COMMON = ("the a we then after before because during this that our their very often about with "
          "without into over under again still never always people team report today yesterday").split()  # fmt: skip


def paragraph(rng: random.Random, topic: str) -> str:
    words = TOPICS[topic].split()
    sentences = []
    for _ in range(rng.randint(1, 3)):
        picked = [rng.choice(words) if rng.random() < 0.5 else rng.choice(COMMON) for _ in range(rng.randint(6, 12))]
        sentences.append(" ".join(picked).capitalize() + ".")
    return " ".join(sentences)


def english_load(texts: list[str], model: str, digest: str) -> np.ndarray | None:
    """MiniLM vectors of the English paragraphs as indexing keeps them (knowledge/english_vectors.py;
    NaN rows for the others), cached like the model's; None where the model takes no second opinion."""
    from knowledge import english_vectors

    if english_vectors.weight(model) <= 0:
        return None
    encoder = english_vectors.encoder()
    if encoder is None:
        return None
    named = hashlib.sha1(f"{digest}:{encoder.path.name}".encode()).hexdigest()[:16]
    cache = common.ROOT / "var" / "bench-cache" / f"search-english-{len(texts)}-{named}.npy"
    if cache.exists():
        return np.load(cache).astype(np.float32)
    started = time.perf_counter()
    out = np.full((len(texts), english_vectors.DIMENSIONS), np.nan, dtype=np.float32)
    for first in range(0, len(texts), 10_000):
        for i, vector in enumerate(english_vectors.paragraph_vectors(texts[first : first + 10_000], model)):
            if vector is not None:
                out[first + i] = vector
    print(f"embedded {len(texts)} paragraphs with MiniLM in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    np.save(cache, out.astype(np.float16))
    return out.astype(np.float16).astype(np.float32)  # as stored (halfvec)


def load(kb, count: int, rng: random.Random, reuse: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Generate, embed and COPY ``count`` paragraphs into ``kb``; returns their vectors in id
    order, and their MiniLM vectors (NaN rows for non-English text; None where not kept)."""
    from django.db import connection

    from knowledge import embeddings, text_search, vector_index
    from knowledge.models import Document, KnowledgeBase, Paragraph, Status

    topics = list(TOPICS)
    texts = [paragraph(rng, rng.choice(topics)) for _ in range(count)]
    # The embeddings are real and slow to compute (minutes on 2 cores): keep them for re-runs.
    model = embeddings.model_name()
    digest = hashlib.sha1(("\n".join(texts) + model).encode()).hexdigest()[:16]
    cache = common.ROOT / "var" / "bench-cache" / f"search-{count}-{digest}.npy"
    if cache.exists():
        vectors = np.load(cache)
    else:
        started = time.perf_counter()
        vectors = embeddings.embed(texts)
        print(f"embedded {count} paragraphs in {time.perf_counter() - started:.0f}s", file=sys.stderr)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors)
    english = english_load(texts, model, digest)
    if reuse:
        held = Paragraph.objects.filter(knowledge_base=kb).count()
        if held != count:  # the reference vectors would not be this knowledge base's
            raise SystemExit(f"{kb.name} holds {held} paragraphs: run with --paragraphs {held}")
        return vectors, english
    per_doc = 100
    docs = Document.objects.bulk_create(
        Document(
            knowledge_base=kb,
            name=f"talk-{i}.mp3",
            sha256="0" * 64,
            status=Status.SUCCESS,
            searchable=True,
            file="bench.mp3",
        )
        for i in range(count // per_doc + 1)
    )
    started = time.perf_counter()
    columns = ("document_id, knowledge_base_id, position, kind, title, content, raw_content, start, \"end\", "
               "embedding, embedding_model, embedding_dimensions, speaker, english_embedding")  # fmt: skip
    KnowledgeBase.objects.filter(pk=kb.pk).update(embedding_model=model, embedding_dimensions=vectors.shape[1])
    # Past the first 100,000 rows, building the HNSW index once after the load is faster than
    # inserting each row into it: drop it (it is rebuilt below, for every knowledge base).
    dims = vectors.shape[1]
    if count > 100_000:
        with connection.cursor() as cur:
            cur.execute(f"DROP INDEX IF EXISTS {vector_index.index_name(model, dims)}")
    chunk = 20_000  # rows per COPY: the text form of 1M vectors would not fit in memory at once
    for first in range(0, count, chunk):
        buffer = io.StringIO()
        for i in range(first, min(first + chunk, count)):
            doc = docs[i // per_doc]
            vec = "[" + ",".join(f"{x:.6g}" for x in vectors[i]) + "]"
            clean = texts[i].replace("\t", " ")
            extra = "\\N"
            if english is not None and not np.isnan(english[i, 0]):
                extra = "[" + ",".join(f"{x:.5g}" for x in english[i]) + "]"
            buffer.write(
                f"{doc.pk}\t{kb.pk}\t{i % per_doc}\ttranscript\t\t{clean}\t\t{i}\t{i + 5}\t{vec}\t\t{dims}\t\t{extra}\n"
            )
        with connection.cursor() as cur, cur.cursor.copy(f"COPY knowledge_paragraph ({columns}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
    print(f"copied in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    rows = list(Paragraph.objects.filter(knowledge_base=kb).order_by("id").values_list("id", "content"))
    for start in range(0, len(rows), 5000):
        batch = rows[start : start + 5000]
        # as the pipeline does (index.replace_paragraphs): rows named with their model here, so
        # that each enters the HNSW graph once
        text_search.index_paragraphs([r[0] for r in batch], [r[1] for r in batch], embedding_model=model)
    print(f"keyword-indexed in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    with connection.cursor() as cur:
        cur.execute("SET maintenance_work_mem = %s", ["1GB" if count <= 200_000 else "3GB"])
        vector_index.ensure_index(model, vectors.shape[1])
        # What autovacuum does soon after a bulk load: statistics, and the visibility map that
        # lets the postings' index-only scans skip the heap (a serving database is in that state).
        cur.execute("VACUUM (ANALYZE) knowledge_paragraph")
        cur.execute("VACUUM (ANALYZE) knowledge_posting")
    print(f"stored and indexed in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return vectors, english


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paragraphs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the generated knowledge base")
    parser.add_argument("--reuse", default="", help="query a knowledge base kept by an earlier --keep run")
    args = parser.parse_args()
    common.setup_django()
    from knowledge import embeddings, english_vectors, query_encoder, search
    from knowledge.models import KnowledgeBase, Paragraph

    rng = random.Random(20261122)
    if args.reuse:
        kb = KnowledgeBase.objects.get(name=args.reuse)
        args.keep = True
    else:
        kb = KnowledgeBase.objects.create(name=f"bench-search-{os.getpid()}")
    try:
        vectors, english = load(kb, args.paragraphs, rng, reuse=bool(args.reuse))
        kb.refresh_from_db()  # load() set its embedding model
        ids = np.array(Paragraph.objects.filter(knowledge_base=kb).order_by("id").values_list("id", flat=True))
        topics = list(TOPICS)
        queries = [" ".join(rng.sample(TOPICS[rng.choice(topics)].split(), rng.randint(3, 6)))
                   for _ in range(args.queries)]  # fmt: skip
        # Warm as a serving process is: the model loaded and the index pages of the vocabulary
        # in the database's buffers, by as many other queries of the same words (not the timed
        # ones: nothing is cached per query, but their own pages would then be the warmest).
        warm_rng = random.Random(7)
        for _ in range(len(queries)):
            search.search(kb, " ".join(warm_rng.sample(TOPICS[warm_rng.choice(topics)].split(), 4)), 10)

        def timed(call, *args) -> tuple[float, object]:
            started = time.perf_counter()
            result = call(*args)
            return (time.perf_counter() - started) * 1000, result

        # Latency: the 200 searches back to back, as a server answers them. (The exact ranking
        # below multiplies a 150 MB matrix; between two timed searches it would flush the CPU
        # caches that a server's searches share.)
        timed_searches = [timed(search.search, kb, q, 10) for q in queries]
        latencies = [ms for ms, _ in timed_searches]
        embed_latencies = [timed(embeddings.embed_one, q, kb.embedding_model)[0] for q in queries]
        english_latencies = [timed(english_vectors.query_vector, q, kb.embedding_model)[0] for q in queries]
        query_vectors = embeddings.embed(queries, kb.embedding_model)
        # The same searches with the query already embedded: the database's share.
        db_latencies = [
            timed(search.hybrid_search, kb, q, 10, v)[0] for q, v in zip(queries, query_vectors, strict=True)
        ]

        vector_recall, hybrid_recall = [], []
        for q, query_vector, (_, hits) in zip(queries, query_vectors, timed_searches, strict=True):
            similarity = vectors @ query_vector
            order = np.argsort(-similarity, kind="stable")
            depth = max(search.CANDIDATES, 20)
            exact_meaning = [(int(ids[i]), float(similarity[i])) for i in order[:depth]]
            english_query = english_vectors.query_vector(q, kb.embedding_model) if english is not None else None
            if english_query is not None:  # the English paragraphs' cosines mixed, as search does
                share = english_vectors.weight(kb.embedding_model)
                mixed = []
                for i, (pk, cos) in zip(order[:depth], exact_meaning, strict=True):
                    other = english[i] @ english_query
                    mixed.append((pk, cos if np.isnan(other) else (1 - share) * cos + share * float(other)))
                exact_meaning = sorted(mixed, key=lambda r: -r[1])
            exact_vector = [pk for pk, _ in exact_meaning[:10]]
            approx_vector = [h.paragraph.pk for h in search.vector_search(kb, q, 10)]
            vector_recall.append(len(set(exact_vector) & set(approx_vector)) / 10)
            exact_hybrid = [pk for pk, _ in search.fuse([exact_meaning, search.keyword_ranking(kb, q, depth)], 10)]
            hybrid_recall.append(len(set(exact_hybrid) & {h.paragraph.pk for h in hits}) / 10)
        p50 = statistics.median(latencies)
        p95 = statistics.quantiles(latencies, n=20)[-1]
        print(
            f"{args.paragraphs} paragraphs, {len(queries)} queries, top_k 10, {os.cpu_count()} cores", file=sys.stderr
        )
        print(f"vector recall@10={statistics.mean(vector_recall):.3f}", file=sys.stderr)
        loaded = embeddings.get_model(kb.embedding_model)
        if isinstance(loaded, embeddings.UseEncoder):
            runtime = "numpy"
        else:
            runtime = (
                "onnx"
                if query_encoder.encoder(kb.embedding_model, loaded, embeddings.resolve(kb.embedding_model))
                else "torch"
            )
        e50, e95 = statistics.median(embed_latencies), statistics.quantiles(embed_latencies, n=20)[-1]
        print(f"query embedding alone ({runtime}): p50_ms={e50:.1f} p95_ms={e95:.1f}", file=sys.stderr)
        if english is not None:
            m50, m95 = statistics.median(english_latencies), statistics.quantiles(english_latencies, n=20)[-1]
            print(f"English query vector alone (MiniLM, onnx, beside the keyword ranking): p50_ms={m50:.1f} "
                  f"p95_ms={m95:.1f}", file=sys.stderr)  # fmt: skip
        db50, db95 = statistics.median(db_latencies), statistics.quantiles(db_latencies, n=20)[-1]
        print(f"without the query embedding: p50_ms={db50:.1f} p95_ms={db95:.1f}", file=sys.stderr)
        mean = statistics.mean(latencies)
        print(f"hybrid recall@10={statistics.mean(hybrid_recall):.3f} (mean latency {mean:.1f} ms)", file=sys.stderr)
        print(f"knowledge base {kb.name}", file=sys.stderr)
        print(f"recall@10={statistics.mean(hybrid_recall):.3f} p50_ms={p50:.1f} p95_ms={p95:.1f}")
    finally:
        if not args.keep:
            kb.delete()
            from settings import embedded

            embedded.stop_services_started_here()


if __name__ == "__main__":
    main()
