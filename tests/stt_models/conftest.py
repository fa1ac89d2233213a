import pytest

from tests.stt_models.openai_server import OpenAIAudioServer

SECRET = "sk-test-4f9c2b7e1d"
KEY_ENV = "TEST_STT_KEY"


@pytest.fixture
def server(monkeypatch):
    """A loopback OpenAI-style speech API that takes SECRET, read from the variable KEY_ENV."""
    monkeypatch.setenv(KEY_ENV, SECRET)
    with OpenAIAudioServer(api_key=SECRET) as srv:
        yield srv
