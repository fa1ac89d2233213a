from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied, Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import FieldErrors
from knowledge import access, fetch, ingest, search, transitions
from knowledge.api.errors import error_body
from knowledge.api.filters import DocumentFilter
from knowledge.api.serializers import (
    DocumentDetailSerializer,
    DocumentSerializer,
    KnowledgeBaseSerializer,
    MembershipSerializer,
    ParagraphSerializer,
    SearchHitSerializer,
    SearchQuerySerializer,
    UploadSerializer,
    WaitSerializer,
    option_fields,
)
from knowledge.api.throttles import HighPriorityThrottle, SearchRateThrottle, UploadRateThrottle
from knowledge.models import Document, KnowledgeBase, Membership, Paragraph, Priority, Role, Status


def knowledge_base_for(request: Request, kb_id: int, role: Role = Role.VIEWER) -> KnowledgeBase:
    """The knowledge base if the user may see it (else 404) and holds ``role`` there (else 403)."""
    kb = get_object_or_404(access.knowledge_bases_for(request.user), pk=kb_id)
    if not access.allows(request.user, kb, role):
        raise PermissionDenied(f"this needs the {role} role in knowledge base {kb.pk}")
    return kb


def document_for(request: Request, pk: int, role: Role = Role.VIEWER) -> Document:
    document = get_object_or_404(access.documents_for(request.user).select_related("knowledge_base"), pk=pk)
    if not access.allows(request.user, document.knowledge_base, role):
        raise PermissionDenied(f"this needs the {role} role in knowledge base {document.knowledge_base_id}")
    return document


def counted_knowledge_bases(request: Request) -> QuerySet[KnowledgeBase]:
    """Visible knowledge bases with ``document_count`` and the user's ``member_role`` (explicit
    order: GROUP BY drops Meta.ordering)."""
    visible = access.with_member_role(access.knowledge_bases_for(request.user), request.user)
    return visible.select_related("owner").annotate(document_count=Count("documents")).order_by("name")


class KnowledgeBaseListCreate(generics.ListCreateAPIView):
    """Knowledge bases you own or were given a role in; creating one makes you its owner."""

    serializer_class = KnowledgeBaseSerializer

    def get_queryset(self) -> QuerySet[KnowledgeBase]:
        return counted_knowledge_bases(self.request)

    def perform_create(self, serializer: KnowledgeBaseSerializer) -> None:
        try:
            with transaction.atomic():
                serializer.save(owner=self.request.user)
        except IntegrityError:  # the same name created at the same moment
            raise ValidationError({"name": ["you already have a knowledge base with this name"]}) from None


class KnowledgeBaseDetail(generics.RetrieveUpdateDestroyAPIView):
    """Read (viewer); change or delete with its documents, files and paragraphs (owner)."""

    serializer_class = KnowledgeBaseSerializer
    lookup_url_kwarg = "kb_id"

    def perform_update(self, serializer: KnowledgeBaseSerializer) -> None:
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError:
            raise ValidationError({"name": ["you already have a knowledge base with this name"]}) from None

    def get_queryset(self) -> QuerySet[KnowledgeBase]:
        return counted_knowledge_bases(self.request)

    def check_object_permissions(self, request: Request, obj: KnowledgeBase) -> None:
        super().check_object_permissions(request, obj)
        if request.method not in ("GET", "HEAD", "OPTIONS") and not access.allows(request.user, obj, Role.OWNER):
            raise PermissionDenied("only the owner may change or delete a knowledge base")


class MemberList(generics.ListCreateAPIView):
    """Who has which role in the knowledge base (owner only). POST {username, role} adds or changes
    one, and answers 202 the same whether or not such a user exists: the answer tells nobody which
    user names are taken (the list shows who holds a role)."""

    serializer_class = MembershipSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Membership]:
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        kb = knowledge_base_for(self.request, self.kwargs["kb_id"], Role.OWNER)
        return kb.memberships.select_related("user").order_by("user__username")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kb = knowledge_base_for(request, kwargs["kb_id"], Role.OWNER)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username, role = serializer.validated_data["user"]["username"], serializer.validated_data["role"]
        user = get_user_model().objects.filter(username=username).first()
        if user is not None and user.pk == kb.owner_id:
            return Response(error_body("conflict", "the owner already holds every right"), status=409)
        if user is not None:
            Membership.objects.update_or_create(knowledge_base=kb, user=user, defaults={"role": role})
        detail = f"{username} holds the {role} role now, if that user exists (the member list shows who does)"
        return Response({"username": username, "role": role, "detail": detail}, status=status.HTTP_202_ACCEPTED)


class MemberDetail(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, kb_id: int, username: str) -> Response:
        kb = knowledge_base_for(request, kb_id, Role.OWNER)
        get_object_or_404(kb.memberships, user__username=username).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def upload(request: Request, kb: KnowledgeBase | None) -> Response:
    """Store the uploaded files and the downloads of ``file_url`` as documents and queue them;
    with ``?wait=SECONDS`` answer 200 with the finished documents if they finish in time."""
    form = UploadSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    data = form.validated_data
    if kb is None:
        if "knowledge" not in data:
            return Response(error_body("invalid", "knowledge: which knowledge base? (an id)"), status=400)
        kb = knowledge_base_for(request, data["knowledge"])
    if not access.allows(request.user, kb, Role.EDITOR):
        raise PermissionDenied(f"uploading needs the editor role in knowledge base {kb.pk}")
    waiting = WaitSerializer(data=request.query_params)
    waiting.is_valid(raise_exception=True)
    wait = waiting.validated_data.get("wait")  # None: answer at once; 0: look once, answer at once
    try:
        plan = ingest.resolve_processing(
            data.get("stt_model_id"), data.get("llm_model_id"), data["options"], knowledge_base=kb
        )
    except FieldErrors as exc:
        errors = {k: [v] for k, v in exc.errors.items()}
        return Response(error_body("invalid", str(exc), errors), status=status.HTTP_400_BAD_REQUEST)
    urls = data.get("file_url", [])
    if data["priority"] == Priority.HIGH and not request.user.is_staff:
        throttle = HighPriorityThrottle()
        if not throttle.allow_many(request, len(data.get("file", [])) + len(urls)):
            detail = f"high priority is limited to {settings.HIGH_PRIORITY_RATE} documents per user; upload at normal"
            raise Throttled(throttle.wait(), detail=detail)
    try:
        for url in urls:  # refused at once; the download itself is the worker's (stage fetching)
            fetch.check_url(url)
    except fetch.FetchError as exc:
        return Response(error_body("fetch_failed", str(exc), {"file_url": [str(exc)]}), status=400)
    try:
        docs = ingest.create_documents(
            kb, data.get("file", []), urls=urls, stt_model=plan.stt_model, llm_model=plan.llm_model,
            options=plan.options, llm_options=plan.llm_options, owner=request.user, name=data.get("name"),
            priority=data["priority"], callback_url=data.get("callback_url", ""),
        )  # fmt: skip
    except ingest.DuplicateMedia as exc:
        body = error_body("conflict", str(exc))
        if exc.document.pk:
            body["document"] = DocumentSerializer(exc.document, context={"request": request}).data
        return Response(body, status=status.HTTP_409_CONFLICT)
    ids = [d.pk for d in docs]
    code = status.HTTP_201_CREATED
    if wait is not None:
        try:
            ingest.wait_until_finished(ids, timeout=wait, poll=0.25)
            code = status.HTTP_200_OK
        except TimeoutError:
            code = status.HTTP_202_ACCEPTED
    docs = Document.objects.with_counts().filter(pk__in=ids).order_by("id")
    body = DocumentSerializer(docs, many=True, context={"request": request}).data
    return Response({"documents": body}, status=code)


UPLOAD_SCHEMA = extend_schema(
    request={"multipart/form-data": UploadSerializer, "application/json": UploadSerializer},
    parameters=[OpenApiParameter("wait", int, description="seconds to wait for the documents to finish")],
    responses={201: DocumentSerializer(many=True), 200: DocumentSerializer(many=True),
               202: DocumentSerializer(many=True), 400: dict, 403: dict, 409: dict, 413: dict},
)  # fmt: skip


class DocumentList(generics.ListAPIView):
    """GET: documents in the knowledge bases you can see (filters, ordering, limit/offset).
    POST: upload ``file`` parts or ``file_url``s to the knowledge base named by ``knowledge``."""

    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter
    throttle_classes = [UploadRateThrottle]

    def get_queryset(self) -> QuerySet[Document]:
        return access.documents_for(self.request.user).with_counts()

    @UPLOAD_SCHEMA
    def post(self, request: Request) -> Response:
        return upload(request, None)


@extend_schema_view(get=extend_schema(operation_id="knowledge_base_documents_list"))
class DocumentListUpload(DocumentList):
    """The same, for one knowledge base: /api/knowledge/{kb_id}/document/."""

    def get_queryset(self) -> QuerySet[Document]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular inspecting the view
            return Document.objects.none()
        return knowledge_base_for(self.request, self.kwargs["kb_id"]).documents.with_counts()

    @extend_schema(operation_id="knowledge_base_documents_upload")
    @UPLOAD_SCHEMA
    def post(self, request: Request, kb_id: int) -> Response:
        return upload(request, knowledge_base_for(request, kb_id))


class DocumentDetail(generics.RetrieveDestroyAPIView):
    """A document with its runs and webhook deliveries; DELETE removes it with its paragraphs,
    results and original file (editor)."""

    serializer_class = DocumentDetailSerializer

    def get_queryset(self) -> QuerySet[Document]:
        return access.documents_for(self.request.user).with_counts().prefetch_related("runs", "webhook_deliveries")

    def perform_destroy(self, instance: Document) -> None:
        document_for(self.request, instance.pk, Role.EDITOR)
        transitions.cancel(instance.pk)  # a running worker stops at its next check
        instance.delete()


class DocumentParagraphs(generics.ListAPIView):
    serializer_class = ParagraphSerializer

    def get_queryset(self) -> QuerySet[Paragraph]:
        if getattr(self, "swagger_fake_view", False):
            return Paragraph.objects.none()
        return document_for(self.request, self.kwargs["pk"]).paragraphs.order_by("position")


class DocumentSummary(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        document = document_for(request, pk)
        return Response({"document_id": document.pk, "status": document.status, "summary": document.summary,
                         "llm_model": document.llm_model.name if document.llm_model else None})  # fmt: skip


def accepted(request: Request, pk: int) -> Response:
    """202 with the document as it is now (after cancel or reprocess)."""
    body = DocumentSerializer(Document.objects.with_counts().get(pk=pk), context={"request": request}).data
    return Response(body, status=202)


class DocumentCancel(APIView):
    @extend_schema(request=None, responses={202: DocumentSerializer, 409: dict})
    def post(self, request: Request, pk: int) -> Response:
        document = document_for(request, pk, Role.EDITOR)
        if transitions.cancel(document.pk) is None:
            document.refresh_from_db()
            return Response(error_body("conflict", f"cannot cancel a {document.status} document"), status=409)
        return accepted(request, pk)


class DocumentReprocess(APIView):
    """Process a document again. A FAILURE or REVOKED one is queued again; a SUCCESS one is re-run
    (its paragraphs stay searchable until the new ones replace them). Either takes any of the
    upload's fields to change: ``stt_model_id``, ``llm_model_id`` ("" for none), the transcription
    and LLM options; the rest stays. A re-run refuses to replace corrected paragraphs unless
    ``replace_corrections`` is true."""

    @extend_schema(request=UploadSerializer, responses={202: DocumentSerializer, 400: dict, 409: dict})
    def post(self, request: Request, pk: int) -> Response:
        document = document_for(request, pk, Role.EDITOR)
        data = request.data if hasattr(request.data, "get") else {}
        plan = None
        changes = option_fields(data)
        named = any(k in data for k in ("stt_model_id", "llm_model_id")) or bool(changes)
        if named or document.status == Status.SUCCESS:
            try:
                plan = ingest.plan_for(document, data.get("stt_model_id"), data.get("llm_model_id"), changes,
                                       keep_llm=data.get("llm_model_id", None) != "")  # fmt: skip
            except FieldErrors as exc:
                errors = {k: [v] for k, v in exc.errors.items()}
                return Response(error_body("invalid", str(exc), errors), status=status.HTTP_400_BAD_REQUEST)
        if document.status == Status.SUCCESS:
            replace = str(data.get("replace_corrections", "")).lower() in ("1", "true", "yes")
            try:
                ingest.rerun(document, plan, replace_corrections=replace)
            except ingest.RerunRefused as exc:
                return Response(error_body("conflict", str(exc)), status=409)
            return accepted(request, pk)
        if not ingest.reprocess(document, plan):
            document.refresh_from_db()
            detail = f"only SUCCESS, FAILURE or REVOKED documents can be processed again, not {document.status}"
            return Response(error_body("conflict", detail), status=409)
        return accepted(request, pk)


class KnowledgeSearch(APIView):
    throttle_classes = [SearchRateThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True),
            OpenApiParameter("top_k", int),
            OpenApiParameter("mode", str, enum=["hybrid", "vector", "keyword"], description="default hybrid"),
            OpenApiParameter("speaker", str, description="only what this speaker says (its name, or its label)"),
        ],
        responses=SearchHitSerializer(many=True),
    )
    def get(self, request: Request, kb_id: int) -> Response:
        kb = knowledge_base_for(request, kb_id)
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        scope = search.Scope(speaker=" ".join(data["speaker"].split())) if data.get("speaker", "").strip() else None
        hits = search.search(kb, data["q"], data["top_k"], mode=data["mode"], documents=scope)
        return Response(SearchHitSerializer(hits, many=True, context={"request": request}).data)
