from __future__ import annotations

import pytest

from tests.llm_models.chat_server import ChatServer

KEY_ENV = "TEST_LLM_KEY"


@pytest.fixture
def chat_server(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "test-llm-key")
    with ChatServer(api_key="test-llm-key") as server:
        yield server


@pytest.fixture
def language_model(db, chat_server):
    from llm_models.models import LanguageModel

    return LanguageModel.objects.create(
        name="editor", provider="openai_compatible", model="editor-1", base_url=chat_server.base_url,
        api_key_env=KEY_ENV, timeout=1.0, max_tokens=512, context_window=4096, temperature=0.0,
    )  # fmt: skip
