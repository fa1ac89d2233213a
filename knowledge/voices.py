"""Known voices across recordings: naming a speaker teaches the knowledge base that voice, and
later recordings' speakers that sound like it (cosine of mean CAM++ embeddings at least
VOICE_MATCH) get its name, with the score shown and a way back (naming the speaker '' again).

Each known voice goes to at most one speaker of a recording (the best-scoring pairs first); a
speaker matched by the machine does not change the voice it matched, only a person's naming does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from knowledge.models import KnowledgeBase, Voice


def _unit(vector: Any) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64)
    return v / max(float(np.linalg.norm(v)), 1e-9)


def match(knowledge_base: KnowledgeBase, speakers: dict[str, Any]) -> dict[str, Any]:
    """``speakers`` (a Document.speakers value) with known voices named: ``name``, ``voice`` (id)
    and ``match`` (the cosine) on each speaker that sounds like one."""
    voices = (speakers or {}).get("voices") or {}
    known = list(Voice.objects.filter(knowledge_base=knowledge_base))
    if not voices or not known:
        return speakers
    pairs = []
    for label, found in voices.items():
        if "embedding" not in found:
            continue
        mine = _unit(found["embedding"])
        for voice in known:
            score = float(mine @ _unit(voice.embedding))
            if score >= settings.VOICE_MATCH:
                pairs.append((score, label, voice))
    taken_labels: set[str] = set()
    taken_voices: set[int] = set()
    named = {label: dict(v) for label, v in voices.items()}
    for score, label, voice in sorted(pairs, key=lambda p: -p[0]):
        if label in taken_labels or voice.pk in taken_voices:
            continue
        taken_labels.add(label)
        taken_voices.add(voice.pk)
        named[label].update(name=voice.name, voice=voice.pk, match=round(score, 3))
    return {**speakers, "voices": named}


def learn(knowledge_base: KnowledgeBase, name: str, embedding: list[float]) -> Voice:
    """Add one named speaker's embedding to the knowledge base's voice of that name."""
    with transaction.atomic():
        voice = Voice.objects.select_for_update().filter(knowledge_base=knowledge_base, name=name).first()
        if voice is None:
            return Voice.objects.create(knowledge_base=knowledge_base, name=name,
                                        embedding=_unit(embedding).round(5).tolist())  # fmt: skip
        mean = _unit(_unit(voice.embedding) * voice.samples + _unit(embedding))
        voice.embedding, voice.samples = mean.round(5).tolist(), voice.samples + 1
        voice.save(update_fields=["embedding", "samples", "updated_at"])
        return voice


def forget(knowledge_base: KnowledgeBase, voice_id: int, embedding: list[float]) -> None:
    """Take back what ``learn`` added (a person renamed or un-named that speaker): the voice
    loses that embedding, and goes when nothing is left of it."""
    with transaction.atomic():
        voice = Voice.objects.select_for_update().filter(knowledge_base=knowledge_base, pk=voice_id).first()
        if voice is None:
            return
        if voice.samples <= 1:
            voice.delete()
            return
        rest = _unit(voice.embedding) * voice.samples - _unit(embedding)
        voice.embedding, voice.samples = _unit(rest).round(5).tolist(), voice.samples - 1
        voice.save(update_fields=["embedding", "samples", "updated_at"])
