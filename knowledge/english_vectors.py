"""A second opinion in English: English paragraphs also keep an all-MiniLM-L6-v2 vector, and an
English question's cosine with them is mixed from both models.

The default embedding model (USE multilingual v3) finds Chinese and English across each other,
but ranks English questions over English text below the English-only MiniLM: on
bench/bilingual.py's set, vector ranking alone, English MRR@10 0.86 against MiniLM's 0.95. MiniLM
cannot stand in for it (Chinese questions, and English ones about Chinese recordings, fail with
it), so both are kept: for an English question and an English paragraph the cosine is

    (1 - weight) * cosine(USE) + weight * cosine(MiniLM)

and every other pair keeps its USE cosine. ``weight`` belongs to the knowledge base's model
(``EmbeddingModel.english_weight``: 0.25 for USE, 0 for the others). On that set through
``knowledge.search`` (hybrid), by weight (English MRR; hit@1 of English questions about Chinese
paragraphs; Chinese questions are never touched):

    0     0.880  0.825        0.3   0.944  0.800
    0.25  0.931  0.825        0.4   0.944  0.725
                              0.5   0.950  0.700

Above 0.25 the mixed cosines of English paragraphs on a neighbouring subject climb past the
Chinese answer; 0.25 gains the most for English without losing anything across languages.

MiniLM runs on ONNX Runtime with the ``tokenizers`` library, not torch, so neither the web
processes nor the worker import torch for it, and with 8-bit weights (ONNX Runtime's dynamic
quantization, one scale per output channel): 23 MB instead of 90, an English question in about
1.5 ms instead of 3.4 on 2 cores, vectors within cosine 0.991 of the float model's and the same
bench/bilingual.py figures. The float export is the query encoder's (``knowledge/query_encoder.py``,
checked against torch); the 8-bit one is made from it and checked against it. ``manage.py
bootstrap`` makes both under MODELS_DIR/onnx; a process that finds none makes them, once (with
torch). The vectors are stored as ``halfvec`` (``Paragraph.english_embedding``) and read only for
the candidates a search already found: there is no second index. ``EMBEDDING_ENGLISH=false``
turns it off.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from django.conf import settings
from pgvector import HalfVector

from core.scripts import DENSE_CHAR
from knowledge import embeddings, query_encoder
from knowledge.models import Paragraph
from stt_models.bundled import made_once, package_versions

log = logging.getLogger(__name__)

MODEL = embeddings.MINILM
DIMENSIONS = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
QUANTIZED_STEM = "english-minilm-int8"
_QUANTIZER = ("onnx", "onnxruntime")
# Least cosine between an 8-bit vector and the float one, on the probe texts; measured 0.991 at
# worst on bench/bilingual.py's English paragraphs and questions (the same rankings).
MIN_AGREEMENT = 0.98

_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[A-Za-z']+")
# Enough of these in a longer text tells English from other languages written in Latin letters.
_FUNCTION_WORDS = frozenset(
    "a an the and or but of to in on at for with from by about as is are was were be been being it its "
    "this that these those i you he she we they me him her us them my your our their what which who when "
    "where why how not no do does did have has had will would can could should there here so if than then".split()
)
_MIN_FUNCTION_SHARE = 0.12  # of the words of a text of LONG_TEXT words or more (English runs near 0.4)
LONG_TEXT = 8

_encoder: Encoder | None = None
_failed = False
_lock = threading.Lock()


def is_english(text: str) -> bool:
    """Whether ``text`` reads as English: letters, all or nearly all of them ASCII, no Chinese,
    Japanese or Korean, and (in a text of some length) English function words among its words.
    A short query of plain Latin words counts as English."""
    if DENSE_CHAR.search(text):
        return False
    letters = _LETTER.findall(text)
    if len(letters) < 2 or sum(c.isascii() for c in letters) < 0.97 * len(letters):
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < LONG_TEXT:
        return True
    return sum(w in _FUNCTION_WORDS for w in words) >= _MIN_FUNCTION_SHARE * len(words)


def weight(model: str) -> float:
    """How much MiniLM counts in an English question's cosine with an English paragraph of a
    knowledge base that uses ``model`` (0: not at all)."""
    if not settings.EMBEDDING_ENGLISH:
        return 0.0
    return embeddings.describe(model).english_weight


class Encoder:
    """MiniLM's ONNX export with its own tokenizer: unit vectors, no torch. Safe to share
    between threads."""

    def __init__(self, path: Path, tokenizer: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer  # noqa: PLC0415 - loaded only in a process that embeds English text

        self.path = path  # names the weights (and the versions that made them)
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.no_padding()  # the file pads every text to 128 tokens; each text runs alone, unpadded
        self.tokenizer.enable_truncation(MAX_TOKENS)
        # One thread: one text at a time through a 23 MB 8-bit model is too little work to share.
        # On 2 cores, 1 thread against 2 (idle threads sleeping): a question p50 3.2 ms against
        # 3.7-3.9 and p95 3.7 against 5.0-5.6; a paragraph of 60 words p50 7.3 against 8.2.
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text, each text run alone: 8-bit activations are scaled by the
        range of the whole input, so in a batch a text's vector would depend on its neighbours
        (up to 0.03 a component); alone it is the same at indexing and at search."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for i, e in enumerate(self.tokenizer.encode_batch(list(texts))):
            feeds = {"input_ids": e.ids, "attention_mask": e.attention_mask, "token_type_ids": e.type_ids}
            arrays = {k: np.asarray([v], dtype=np.int64) for k, v in feeds.items() if k in self.inputs}
            out[i] = self.session.run(None, arrays)[0][0]
        return out


def _source() -> str:
    return embeddings.resolve(MODEL)


def _tokenizer() -> Path:
    return Path(_source()) / "tokenizer.json"


def _full_export() -> Path:
    """MiniLM's float export (the query encoder's), made with torch, once, where missing."""
    path = query_encoder.export_path(MODEL, _source())
    if not path.exists():
        from sentence_transformers import SentenceTransformer

        path, _ = query_encoder.checked_export(MODEL, SentenceTransformer(_source(), device="cpu"), _source())
    return path


def _quantized_path(full: Path) -> Path:
    digest = hashlib.sha256("\n".join([full.name, *package_versions(_QUANTIZER)]).encode()).hexdigest()[:20]
    return full.parent / f"{QUANTIZED_STEM}-{digest}.onnx"


def _quantize(full: Path, target: Path) -> None:
    """8-bit weights, one scale per output channel (ONNX Runtime's dynamic quantization),
    checked against the float export on the probe texts before it is kept."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # It logs each tensor it leaves alone, and a hint, on the root logger: not for the operator's log.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(str(full), str(target), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.disable(previous)
    small, exact = Encoder(target, _tokenizer()), Encoder(full, _tokenizer())
    agreement = float(np.min(np.sum(small(query_encoder.PROBES) * exact(query_encoder.PROBES), axis=1)))
    if agreement < MIN_AGREEMENT:
        raise ValueError(f"8-bit vectors agree with the float ones only to cosine {agreement:.3f}")


def _export() -> Path:
    """The 8-bit export (made from the float one once, where missing), or the float export where
    quantizing fails."""
    full = _full_export()
    try:
        return made_once(_quantized_path(full), f"{QUANTIZED_STEM}-*.onnx", lambda tmp: _quantize(full, tmp))
    except Exception as exc:  # noqa: BLE001 - the float export gives the same rankings, a little slower
        log.warning("MiniLM stays in float (not quantized: %s: %s)", type(exc).__name__, exc)
        return full


def encoder() -> Encoder | None:
    """The loaded encoder, or None where it cannot run (one warning in the log; search and
    indexing then go on with the knowledge base's model alone)."""
    global _encoder, _failed
    if _encoder is not None or _failed:
        return _encoder
    with _lock:
        if _encoder is None and not _failed:
            try:
                _encoder = Encoder(_export(), _tokenizer())
            except Exception as exc:  # noqa: BLE001 - a second opinion: without it search still works
                _failed = True
                log.warning("English paragraphs get no MiniLM vectors (%s: %s)", type(exc).__name__, exc)
    return _encoder


def forget() -> None:
    """Drop the loaded encoder (a worker's ``warmup.unload``, with the other models)."""
    global _encoder, _failed
    with _lock:
        _encoder, _failed = None, False


def prepare() -> str:
    """Make the export ahead of the first search (``manage.py bootstrap``); a few words on it."""
    if not settings.EMBEDDING_ENGLISH:
        return "off (EMBEDDING_ENGLISH)"
    full = query_encoder.export_path(MODEL, _source())
    if full.exists() and _quantized_path(full).exists():
        return "export ready"
    try:
        _export()
    except Exception as exc:  # noqa: BLE001 - reported, not fatal: English ranking goes on without it
        return f"not exported ({type(exc).__name__}: {exc})"
    return "exported"


def paragraph_vectors(texts: Sequence[str], model: str) -> list[np.ndarray | None]:
    """The MiniLM vector of each English text (None for the others, and for all of them where
    the knowledge base's ``model`` takes no second opinion)."""
    english = [i for i, text in enumerate(texts) if is_english(text)] if weight(model) > 0 else []
    found: list[np.ndarray | None] = [None] * len(texts)
    run = encoder() if english else None
    if run is not None:
        for i, vector in zip(english, run([texts[i] for i in english]), strict=True):
            found[i] = vector
    return found


def fill_missing(knowledge_base_id: int, model: str, batch: int = 256) -> int:
    """Give the English paragraphs of a knowledge base that have no MiniLM vector one (those
    indexed before they were kept, or under a model that took no second opinion): ``reindex``
    calls it. Returns how many were given one."""
    if weight(model) <= 0:
        return 0
    done, after = 0, 0
    while True:
        rows = list(
            Paragraph.objects.filter(knowledge_base_id=knowledge_base_id, english_embedding__isnull=True, id__gt=after)
            .order_by("id")
            .values_list("id", "content")[:batch]
        )
        if not rows:
            return done
        after = rows[-1][0]
        vectors = paragraph_vectors([content for _, content in rows], model)
        found = [Paragraph(pk=pk, english_embedding=HalfVector(v)) for (pk, _), v in zip(rows, vectors, strict=True)
                 if v is not None]  # fmt: skip
        Paragraph.objects.bulk_update(found, ["english_embedding"])
        done += len(found)


def query_vector(query: str, model: str) -> np.ndarray | None:
    """The question's MiniLM vector where it is English and the model takes a second opinion."""
    if weight(model) <= 0 or not is_english(query):
        return None
    run = encoder()
    return run([query])[0] if run is not None else None


def mixed(rows: list[tuple[int, float, float | None]], model: str) -> list[tuple[int, float]]:
    """(paragraph id, cosine) best first, from (id, the knowledge base's model's cosine, MiniLM's
    cosine or None) rows: an English paragraph's two cosines mixed by the model's weight (see
    the module's text), every other paragraph's kept."""
    share = weight(model)
    scored = [(pk, cos if other is None or share <= 0 else (1 - share) * cos + share * other)
              for pk, cos, other in rows]  # fmt: skip
    return sorted(scored, key=lambda r: -r[1])
