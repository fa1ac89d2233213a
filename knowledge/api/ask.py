"""``POST /api/knowledge/{id}/ask/``: a question answered from the knowledge base, with
citations that open the media at the moment (``knowledge/ask``).

With ``stream`` the answer comes as server-sent events: ``passages`` (every passage the model was
given, numbered as the answer cites them), ``token`` (each piece of text as it is written), and
``answer`` last (the final text with invented citations removed, the citations, the usage), or
``error``. A stream takes one of the stream slots that document events use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge.api.errors import error_body
from knowledge.api.events import EventStreamRenderer, give_slot, held_response, take_slot
from knowledge.api.serializers import media_url
from knowledge.api.throttles import AskRateThrottle
from knowledge.api.views import knowledge_base_for
from knowledge.ask import service
from knowledge.ask.passages import Passage
from knowledge.models import AnswerOutcome

RETRY_AFTER = 10  # seconds, when the LLM is unavailable


class TurnSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["user", "assistant"])
    content = serializers.CharField(max_length=8000, trim_whitespace=True)


class AskSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=2000)
    llm_model_id = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="id or name; default: the default LLM"
    )
    top_k = serializers.IntegerField(min_value=1, max_value=service.MAX_TOP_K, default=service.DEFAULT_TOP_K)
    document = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100,
        help_text="only these documents of the knowledge base (ids)",
    )  # fmt: skip
    speaker = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="only what this speaker says (name or label)"
    )
    history = TurnSerializer(many=True, required=False, help_text="earlier turns, oldest first, for follow-ups")
    stream = serializers.BooleanField(default=False, help_text="server-sent events instead of one JSON answer")

    def validate_history(self, value: list[dict[str, str]]) -> list[dict[str, str]]:
        if len(value) > service.MAX_HISTORY_TURNS:
            raise serializers.ValidationError(f"at most {service.MAX_HISTORY_TURNS} earlier turns")
        return value


class CitationSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    document_id = serializers.IntegerField()
    document_name = serializers.CharField()
    paragraph_id = serializers.IntegerField()
    kind = serializers.CharField()
    hit = serializers.BooleanField(help_text="found by the search (else a neighbouring paragraph, for context)")
    start = serializers.FloatField()
    end = serializers.FloatField()
    moment = serializers.FloatField(help_text="where in start-end the answer is said: the sentence closest to the "
                                    "question (for passages search found), else start")  # fmt: skip
    speaker = serializers.CharField(allow_blank=True, help_text="who says it (a diarization label or its name)")
    text = serializers.CharField()
    media_url = serializers.CharField(allow_null=True, help_text="the media at the moment (#t=seconds)")


class AnswerSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="the recorded question")
    question = serializers.CharField()
    language = serializers.CharField(help_text="the language the answer was asked in: en or zh")
    answer = serializers.CharField()
    outcome = serializers.ChoiceField(choices=AnswerOutcome.choices)
    citations = CitationSerializer(many=True)
    invalid_citations = serializers.ListField(child=serializers.IntegerField(), help_text="invented, dropped")
    passages = serializers.IntegerField(help_text="how many passages the model was given")
    llm_model = serializers.CharField()
    usage = serializers.DictField(child=serializers.IntegerField())
    seconds = serializers.FloatField()


def citation(passage: Passage, request: Request | None) -> dict[str, Any]:
    p = passage.paragraph
    url = media_url(p.document, request)
    return {
        "number": passage.number,
        "document_id": p.document_id,
        "document_name": p.document.name,
        "paragraph_id": p.pk,
        "kind": p.kind,
        "hit": passage.hit,
        "start": p.start,
        "end": p.end,
        "moment": passage.at,
        "speaker": p.speaker,
        "text": p.content,
        "media_url": f"{url}#t={passage.at:.2f}" if url else None,
    }


def answer_body(answer: service.Answer, request: Request | None) -> dict[str, Any]:
    return {
        "id": answer.record_id,
        "question": answer.question,
        "language": answer.language,
        "answer": answer.text,
        "outcome": answer.outcome,
        "citations": [citation(p, request) for p in answer.citations],
        "invalid_citations": answer.invalid_citations,
        "passages": len(answer.passages),
        "llm_model": answer.llm_model,
        "usage": answer.usage,
        "seconds": answer.seconds,
    }


def failure(answer: service.Answer) -> Response:
    """503 (with Retry-After) when the LLM may answer later, 502 when it refuses as configured."""
    if answer.retryable:
        body = error_body("llm_unavailable", f"the LLM is unavailable: {answer.error}")
        return Response(body, status=503, headers={"Retry-After": str(RETRY_AFTER)})
    return Response(error_body("llm_error", f"the LLM did not answer: {answer.error}"), status=502)


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def sse(events: Iterator[tuple[str, Any]], request: Request) -> Iterator[str]:
    for name, value in events:
        if name == "passages":
            yield _event("passages", {"passages": [citation(p, request) for p in value]})
        elif name == "token":
            yield _event("token", {"text": value})
        elif value.outcome == AnswerOutcome.FAILED:
            code = "llm_unavailable" if value.retryable else "llm_error"
            yield _event("error", {**error_body(code, f"the LLM did not answer: {value.error}"), "id": value.record_id})
        else:
            yield _event("answer", answer_body(value, request))


class KnowledgeAsk(APIView):
    throttle_classes = [AskRateThrottle]
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        request=AskSerializer,
        responses={
            200: AnswerSerializer,
            (200, "text/event-stream"): OpenApiTypes.STR,
            400: dict,
            502: dict,
            503: dict,
        },  # fmt: skip
    )
    def post(self, request: Request, kb_id: int) -> Any:
        kb = knowledge_base_for(request, kb_id)
        data = AskSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        options = {
            "llm_model": values.get("llm_model_id") or None,
            "top_k": values["top_k"],
            "documents": values.get("document") or None,
            "speaker": " ".join(values.get("speaker", "").split()) or None,
            "history": values.get("history") or None,
        }
        try:
            if not values["stream"]:
                result = service.answer(kb, values["question"], user=request.user, **options)
                if result.outcome == AnswerOutcome.FAILED:
                    return failure(result)
                return Response(answer_body(result, request))
            refused = take_slot(request, "no stream is free on this server now; ask without stream", "ask without one")
            if refused is not None:
                return refused
            try:
                events = service.stream(kb, values["question"], user=request.user, **options)
            except BaseException:
                give_slot(request)
                raise
            return held_response(request, sse(events, request))
        except service.AskRefused as exc:
            return Response(error_body("invalid", str(exc)), status=400)
