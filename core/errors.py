"""One error family for the whole project.

- ``UserError``: permanent. The input or the configuration cannot work as given; ``str(exc)`` is
  one line a person can act on and ``code`` a stable word for programs. A document that hits one
  ends FAILURE with that line; the API answers 400 with ``{"code", "detail"}``; a command prints it.
- ``RetryableError``: a service (the database, a speech or LLM server) was briefly unavailable;
  the stage's Celery task retries it with backoff (declared on the task), then gives up.
- ``FieldErrors``: a ``UserError`` naming each bad field (upload, speech and LLM options).

Errors that are neither (a cancel, a lost claim, a time limit) are control flow, not failures,
and stay outside the family.
"""

from __future__ import annotations


class UserError(Exception):
    """Permanent: ``str(exc)`` is one line for the user, ``code`` a stable identifier."""

    code = "invalid"


class RetryableError(Exception):
    """Worth trying again later: something the work needs was briefly unavailable."""

    code = "unavailable"


class FieldErrors(UserError, ValueError):
    """Bad input field by field; ``errors`` maps each field to a message."""

    code = "invalid"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
