"""Ask: do a question's citations open the recording at the moment that answers it, and how soon
does the answer start?

The service runs as ``make run`` runs it (``manage.py serve`` in a private ``VAR_DIR`` and port),
with a loopback OpenAI-compatible LLM (``tests/llm_models/chat_server.py``, in this process) as the
default LLM. Every English and Mandarin speech fixture is uploaded to one new knowledge base with
the defaults (no model, no language) and transcribed by the service's worker. Then each question
of ``bench/ask_set.py`` (30: half Chinese, some across languages, each with the recording and the
sentences that answer it, their moments found in the audio) is asked through
``POST /api/knowledge/{id}/ask/`` with ``stream``:

- moment (retrieval alone, no LLM): the first passage the search found (the first ``hit`` of the
  ``passages`` event, what an answer cites as its best source) must be in the right recording,
  and the place its link opens (``media_url#t=``) within 5 s of the start of the answer;
- first token: from sending the question to the first ``token`` event read by the client, less
  the LLM's own time (from the loopback server receiving the request to its first chunk sent,
  measured in the server); medians and the 95th percentile over the questions, after one
  question to warm up.

``--var DIR`` keeps the service's folder (database, media) and reuses its transcripts on the next
run, for trying retrieval changes without transcribing again.

Last line: ``moment_hit=R first_token_ms_p50=M first_token_ms_p95=M``; targets moment_hit >= 0.9,
first token <= 150 ms (p50; the p95 is printed to show the spread).

    .venv/bin/python bench/ask.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ask_set
import common

WINDOW = 5.0  # seconds


def events(response: Any) -> list[tuple[str, dict, float]]:
    """(name, data, perf_counter when read) of each server-sent event."""
    found, name, data = [], "", []
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif not line and name:
            found.append((name, json.loads("\n".join(data)), time.perf_counter()))
            name, data = "", []
    return found


def ask(service: common.Service, kb: int, question: str) -> tuple[dict | None, float]:
    """The first passage found, and the seconds to the first token event."""
    started = time.perf_counter()
    body = {"question": question, "stream": True}
    with service.http.stream("POST", f"/api/knowledge/{kb}/ask/", json=body) as response:
        if response.status_code != 200:
            raise SystemExit(f"ask answered {response.status_code}: {response.read()[:300]!r}")
        got = events(response)
    passages = next((data["passages"] for name, data, _ in got if name == "passages"), [])
    first = next((p for p in passages if p["hit"]), None)
    token = next((at for name, _, at in got if name == "token"), None)
    if token is None:
        raise SystemExit(f"no token for {question!r}: {got[-1][:2] if got else 'no events'}")
    return first, token - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--var", type=Path, help="keep the service's folder here (and reuse its transcripts)")
    args = parser.parse_args()
    sys.path.insert(0, str(common.ROOT))
    from tests.llm_models.chat_server import ChatServer

    key = "bench-llm-key"
    with ChatServer(api_key=key) as chat:
        run(chat, key, args.var)


def run(chat: Any, key: str, var: Path | None) -> None:
    recordings = sorted({c.recording for c in ask_set.CASES})
    uploads = sorted({*recordings, *(p.relative_to(ask_set.FIXTURES).as_posix() for p in
                                     [*ask_set.FIXTURES.glob("zh/*.wav"), *ask_set.FIXTURES.glob("*_en.mp*")]
                                     )})  # fmt: skip
    spans = {c: ask_set.answer_span(c) for c in ask_set.CASES}
    with tempfile.TemporaryDirectory() as tmp:
        env = {"MODEL_URL_ALLOWLIST": "127.0.0.1/32", "MODEL_API_KEY_ENVS": "BENCH_LLM_KEY",
               "BENCH_LLM_KEY": key, "ASK_RATE": ""}  # fmt: skip
        service = common.Service(var or Path(tmp) / "var", env)
        try:
            llm = {"name": "loopback", "provider": "openai_compatible", "model": "editor-1",
                   "base_url": chat.base_url, "api_key_env": "BENCH_LLM_KEY", "is_default": True}  # fmt: skip
            known = service.http.get("/api/llm-models/").json()
            known = known.get("results", known) if isinstance(known, dict) else known
            old = next((m for m in known if m["name"] == "loopback"), None)
            answer = (service.http.patch(f"/api/llm-models/{old['id']}/", json=llm) if old else
                      service.http.post("/api/llm-models/", json=llm))  # fmt: skip
            if answer.status_code not in (200, 201):
                raise SystemExit(f"the LLM was not registered: {answer.status_code} {answer.text[:300]}")
            listed = service.http.get("/api/knowledge/").json()
            listed = listed.get("results", listed) if isinstance(listed, dict) else listed
            kb = next((k["id"] for k in listed if k["name"] == "ask-bench"), None)
            if kb is None:
                kb = service.new_knowledge_base("ask-bench")
                files = [("file", (Path(u).name, (ask_set.FIXTURES / u).read_bytes())) for u in uploads]
                started = time.perf_counter()
                docs = service.upload(kb, files, timeout=900)
                print(f"{len(docs)} recordings transcribed in {time.perf_counter() - started:.1f} s")
            else:
                print(f"reusing the transcripts of {var}")
            ask(service, kb, "What is this knowledge base about?")  # warm-up
            hits, waits = 0, []
            for case in ask_set.CASES:
                first, wait = ask(service, kb, case.question)
                received, first_chunk = chat.stream_times[-1]
                waits.append(wait - (first_chunk - received))
                start, end = spans[case]
                name = Path(case.recording).name
                opens = float(first["media_url"].rsplit("#t=", 1)[1]) if first else None
                right = first is not None and first["document_name"] == name and abs(opens - start) <= WINDOW
                hits += right
                where = f"{first['document_name']} @{opens:.1f}" if first else "nothing"
                print(f"{'ok ' if right else 'MISS'} {case.language} {wait * 1000:6.1f} ms  {case.question[:60]!r}: "
                      f"want {name} {start:.1f}-{end:.1f}, got {where}")  # fmt: skip
        finally:
            service.stop()
    waits.sort()
    p50 = statistics.median(waits) * 1000
    p95 = waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))] * 1000
    print(f"{hits}/{len(ask_set.CASES)} questions open the right moment (within {WINDOW:.0f} s)")
    print(f"moment_hit={hits / len(ask_set.CASES):.2f} first_token_ms_p50={p50:.0f} first_token_ms_p95={p95:.0f}")


if __name__ == "__main__":
    main()
