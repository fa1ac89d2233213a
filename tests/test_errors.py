"""The one error family: every permanent error a user can meet is a UserError with a stable code,
every retryable one a RetryableError, and the API answers either without a 500."""

import pytest

from core.errors import FieldErrors, RetryableError, UserError
from core.model_servers import ServerRefused
from core.outbound import AddressRefused
from knowledge.api.errors import api_exception_handler
from knowledge.ask.service import AskRefused
from knowledge.corrections import CorrectionRefused
from knowledge.fetch import FetchError, UnknownPage
from knowledge.ingest import DuplicateMedia, RerunRefused
from knowledge.kb_embedding import EmbeddingMismatch
from knowledge.selection import SelectionError
from knowledge.sources import SourceError
from knowledge.speaker_names import RenameRefused
from llm_models.providers.base import LlmError, LlmRefused, LlmUnavailable
from llm_models.registry import LanguageModelNotFound
from media_learning.archive import ArchiveError
from media_learning.pipeline.decode import MediaError
from media_learning.pipeline.runner import TransientError
from stt_models.diarization.voices import VoiceModelMissing
from stt_models.providers.base import SttError, SttRefused, SttUnavailable
from stt_models.registry import SpeechModelNotFound

PERMANENT = [AskRefused, CorrectionRefused, FetchError, DuplicateMedia, RerunRefused, EmbeddingMismatch,
             SelectionError, SourceError, RenameRefused, LlmRefused, LanguageModelNotFound, ArchiveError,
             MediaError, VoiceModelMissing, ServerRefused, AddressRefused, SttRefused, SpeechModelNotFound]  # fmt: skip


def test_every_permanent_error_is_a_user_error_with_its_own_code():
    assert all(issubclass(cls, UserError) and not issubclass(cls, RetryableError) for cls in PERMANENT)
    codes = [cls.code for cls in PERMANENT]
    assert len(set(codes)) == len(codes) and all(code.isidentifier() and code.islower() for code in codes)
    assert issubclass(UnknownPage, FetchError)


def test_the_unavailable_ones_are_of_their_family_and_retryable_not_permanent():
    for cls, family in [(SttUnavailable, SttError), (LlmUnavailable, LlmError), (TransientError, Exception)]:
        assert issubclass(cls, family) and issubclass(cls, RetryableError) and not issubclass(cls, UserError)
    assert issubclass(SttRefused, SttError) and issubclass(LlmRefused, LlmError)


@pytest.mark.parametrize(
    ("exc", "code", "errors"),
    [(SelectionError("no knowledge base named 'x'"), "no_such_selection", None),
     (FieldErrors({"language": "unknown language code 'xx'"}), "invalid", {"language": ["unknown language code 'xx'"]}),
     (AskRefused("no LLM is configured\nsecond line"), "ask_refused", None)],
)  # fmt: skip
def test_a_user_error_that_reaches_the_api_is_a_400_with_its_code_and_one_line(exc, code, errors):
    response = api_exception_handler(exc, {})

    assert response.status_code == 400 and response.data["code"] == code
    assert "\n" not in response.data["detail"] and response.data["detail"]
    assert response.data.get("errors") == errors
