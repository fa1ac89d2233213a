from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge import ingest, search
from knowledge import status as status_machine
from knowledge.api.serializers import (
    DocumentDetailSerializer,
    DocumentSerializer,
    KnowledgeBaseSerializer,
    ParagraphSerializer,
    SearchHitSerializer,
    SearchQuerySerializer,
    UploadSerializer,
)
from knowledge.models import Document, KnowledgeBase, Paragraph


def _form_options(data: Any) -> dict[str, Any]:
    """Options from a multipart form (a repeated field becomes a list) or a JSON body."""
    if hasattr(data, "getlist"):
        return {k: (v[0] if len(v) == 1 else v) for k in ingest.UPLOAD_OPTION_NAMES if (v := data.getlist(k))}
    return {k: data[k] for k in ingest.UPLOAD_OPTION_NAMES if k in data}


def too_large_uploads(request: Request) -> str:
    """Why the upload is refused for its size ('' when it is not)."""
    limit = settings.MAX_UPLOAD_SIZE
    names = [f.name for f in request.FILES.getlist("file") if f.size > limit]
    if not names:
        return ""
    return (
        f"larger than the upload limit of {filesizeformat(limit)} ({limit} bytes, MAX_UPLOAD_SIZE): {', '.join(names)}"
    )


def visible_knowledge_bases(request: Request) -> QuerySet[KnowledgeBase]:
    queryset = KnowledgeBase.objects.all()
    if not request.user.is_authenticated:  # only the schema generator gets here unauthenticated
        return queryset.none()
    if not request.user.is_staff:
        queryset = queryset.filter(owner=request.user)
    return queryset


def counted_knowledge_bases(request: Request) -> QuerySet[KnowledgeBase]:
    """Visible knowledge bases with ``document_count`` (explicit order: GROUP BY drops Meta.ordering)."""
    return visible_knowledge_bases(request).annotate(document_count=Count("documents")).order_by("name")


def visible_documents(request: Request) -> QuerySet[Document]:
    return Document.objects.filter(knowledge_base__in=visible_knowledge_bases(request))


class KnowledgeBaseListCreate(generics.ListCreateAPIView):
    serializer_class = KnowledgeBaseSerializer

    def get_queryset(self) -> QuerySet[KnowledgeBase]:
        return counted_knowledge_bases(self.request)

    def perform_create(self, serializer: KnowledgeBaseSerializer) -> None:
        serializer.save(owner=self.request.user)


class KnowledgeBaseDetail(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = KnowledgeBaseSerializer
    lookup_url_kwarg = "kb_id"

    def get_queryset(self) -> QuerySet[KnowledgeBase]:
        return counted_knowledge_bases(self.request)


class DocumentListUpload(generics.ListAPIView):
    """GET: the knowledge base's documents. POST (multipart): upload one or more ``file`` parts."""

    serializer_class = DocumentSerializer
    filterset_fields = ["status"]

    def knowledge_base(self) -> KnowledgeBase:
        return get_object_or_404(visible_knowledge_bases(self.request), pk=self.kwargs["kb_id"])

    def get_queryset(self) -> QuerySet[Document]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular inspecting the view
            return Document.objects.none()
        return self.knowledge_base().documents.with_counts()

    @extend_schema(request={"multipart/form-data": UploadSerializer},
                   responses={201: DocumentSerializer(many=True), 400: dict, 413: dict})  # fmt: skip
    def post(self, request: Request, kb_id: int) -> Response:
        kb = self.knowledge_base()
        if too_large := too_large_uploads(request):
            return Response(
                {"detail": too_large, "code": "file_too_large"}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        upload = UploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        try:
            plan = ingest.resolve_processing(
                data.get("stt_model_id"), data.get("llm_model_id"), _form_options(request.data)
            )
        except ingest.UploadError as exc:
            return Response({k: [v] for k, v in exc.errors.items()}, status=status.HTTP_400_BAD_REQUEST)
        docs = ingest.create_documents(
            kb, data["file"], stt_model=plan.stt_model, llm_model=plan.llm_model, options=plan.options,
            owner=request.user, name=data.get("name"),
        )  # fmt: skip
        docs = Document.objects.with_counts().filter(pk__in=[d.pk for d in docs]).order_by("id")
        body = DocumentSerializer(docs, many=True, context={"request": request}).data
        return Response({"documents": body}, status=status.HTTP_201_CREATED)


class DocumentDetail(generics.RetrieveDestroyAPIView):
    serializer_class = DocumentDetailSerializer

    def get_queryset(self) -> QuerySet[Document]:
        return visible_documents(self.request).with_counts().prefetch_related("runs")


class DocumentParagraphs(generics.ListAPIView):
    serializer_class = ParagraphSerializer

    def get_queryset(self) -> QuerySet[Paragraph]:
        if getattr(self, "swagger_fake_view", False):
            return Paragraph.objects.none()
        document = get_object_or_404(visible_documents(self.request), pk=self.kwargs["pk"])
        return document.paragraphs.order_by("position")


class DocumentCancel(APIView):
    @extend_schema(request=None, responses={202: DocumentSerializer, 409: None})
    def post(self, request: Request, pk: int) -> Response:
        document = get_object_or_404(visible_documents(request), pk=pk)
        if status_machine.cancel(document.pk) is None:
            document.refresh_from_db()
            return Response({"detail": f"cannot cancel a {document.status} document"}, status=409)
        return Response(DocumentSerializer(Document.objects.with_counts().get(pk=pk)).data, status=202)


class DocumentReprocess(APIView):
    @extend_schema(request=None, responses={202: DocumentSerializer, 409: None})
    def post(self, request: Request, pk: int) -> Response:
        document = get_object_or_404(visible_documents(request), pk=pk)
        if not ingest.reprocess(document):
            document.refresh_from_db()
            return Response({"detail": f"only FAILURE or REVOKED documents can be reprocessed, not {document.status}"},
                            status=409)  # fmt: skip
        return Response(DocumentSerializer(Document.objects.with_counts().get(pk=pk)).data, status=202)


class KnowledgeSearch(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True),
            OpenApiParameter("top_k", int),
            OpenApiParameter("mode", str, enum=["hybrid", "vector", "keyword"], description="default hybrid"),
        ],
        responses=SearchHitSerializer(many=True),
    )
    def get(self, request: Request, kb_id: int) -> Response:
        kb = get_object_or_404(visible_knowledge_bases(request), pk=kb_id)
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        hits = search.search(kb, data["q"], data["top_k"], mode=data["mode"])
        return Response(SearchHitSerializer(hits, many=True, context={"request": request}).data)
