"""What one stage hands the next in its Celery message: a typed, versioned payload.

``to_message`` writes plain JSON types; ``from_message`` reads this version and every earlier one
(a message queued before an upgrade still runs: version 0 is the untyped dict of before, with
the same keys). A message from a newer version is retried for an upgraded worker, never misread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from core.errors import RetryableError
from media_learning.pipeline.split import ParagraphDraft

VERSION = 2  # 2: drafts carry their cues


class NewerPayload(RetryableError):
    """The message was written by a newer version of the pipeline than this worker's (a rolling
    upgrade): retried, so that an upgraded worker takes it."""

    code = "newer_worker_needed"


@dataclass(frozen=True)
class StagePayload:
    run_id: int  # the ProcessingRun that all the stages of this attempt add to
    language: str = ""  # found by transcription
    duration: float = 0.0
    warnings: tuple[str, ...] = ()
    timestamps: bool = True  # whether the speech model gave segment times
    diarize: bool = False  # speakers still to find (the diarize stage comes next)
    drafts: tuple[ParagraphDraft, ...] = ()  # the paragraphs, once cut
    summary: str = ""
    llm_usage: dict[str, Any] = field(default_factory=dict)

    def but(self, **changes: Any) -> StagePayload:
        """A copy with ``changes`` (lists become tuples)."""
        for key in ("warnings", "drafts"):
            if key in changes:
                changes[key] = tuple(changes[key])
        return replace(self, **changes)

    def to_message(self) -> dict[str, Any]:
        message = asdict(self)
        message["warnings"] = list(self.warnings)
        message["drafts"] = [asdict(d) for d in self.drafts]
        if not message["drafts"]:
            del message["drafts"]  # not cut yet (diarize) or nothing said: the message stays small
        message["found"] = {"language": self.language, "duration": self.duration}  # as version 0 read it
        message["version"] = VERSION
        return message

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> StagePayload:
        version = int(message.get("version", 0))
        if version > VERSION:
            raise NewerPayload(f"the stage message is version {version}, newer than this worker's {VERSION}: "
                               "upgrade the worker")  # fmt: skip
        found = message.get("found") or {}
        known = {f.name for f in fields(cls)} - {"drafts", "warnings", "language", "duration"}
        return cls(
            **{k: v for k, v in message.items() if k in known},
            language=str(message.get("language", found.get("language", ""))),
            duration=float(message.get("duration", found.get("duration", 0.0))),
            warnings=tuple(message.get("warnings", ())),
            drafts=tuple(ParagraphDraft(**d) for d in message.get("drafts", ())),
        )
