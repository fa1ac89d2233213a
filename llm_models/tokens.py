"""Token estimates for sizing requests to a model's context window.

No tokenizer is known for an arbitrary served model, so the estimate is deliberately high:
1.5 tokens per CJK character (Llama-style tokenizers spend 1-3 on one, Qwen's under 1) and one
per 3 other characters (about 4 in English with GPT or Llama tokenizers), plus 4 per message.
"""

from __future__ import annotations

from core.scripts import WIDE_CHAR

MESSAGE_OVERHEAD = 4
SAFETY = 0.9  # share of the context window requests may fill


def estimate_tokens(text: str) -> int:
    cjk = len(WIDE_CHAR.findall(text))
    return int(1.5 * cjk + (len(text) - cjk) / 3) + 1


def estimate_messages(messages: list[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)


def input_budget(context_window: int, max_tokens: int, prompt_tokens: int) -> int:
    """Tokens left for the text of one request once the instructions and the answer have room."""
    return max(0, int(context_window * SAFETY) - max_tokens - prompt_tokens)
