from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from knowledge.api.embedding_models import EmbeddingModelList
from knowledge.api.health import Health
from knowledge.api.tokens import ObtainToken
from knowledge.web import app_page
from llm_models.api import LanguageModelViewSet
from media_learning.api import DocumentAudio, DocumentTranscript, KnowledgeBaseExport
from stt_models.api import SpeechModelViewSet

router = SimpleRouter()
router.register("api/stt-models", SpeechModelViewSet, basename="stt-model")
router.register("api/llm-models", LanguageModelViewSet, basename="llm-model")

urlpatterns = [
    path("", app_page, name="app"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language switch
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/knowledge/document/<int:pk>/transcript/", DocumentTranscript.as_view(), name="document-transcript"),
    path("api/knowledge/document/<int:pk>/audio/", DocumentAudio.as_view(), name="document-audio"),
    path("api/knowledge/<int:kb_id>/export/", KnowledgeBaseExport.as_view(), name="knowledge-export"),
    path("api/knowledge/", include("knowledge.api.urls")),
    path("api/health/", Health.as_view(), name="health"),
    path("api/embedding-models/", EmbeddingModelList.as_view(), name="embedding-models"),
    path("api/auth/token/", ObtainToken.as_view(), name="api-token"),
    *router.urls,
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Uploaded media is served only through /api/knowledge/document/{id}/media/, which checks access.
]

handler400 = "knowledge.api.errors.bad_request"
handler403 = "knowledge.api.errors.permission_denied"
handler404 = "knowledge.api.errors.page_not_found"
handler500 = "knowledge.api.errors.server_error"
