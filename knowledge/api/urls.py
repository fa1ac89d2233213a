from django.urls import path

from knowledge.api import views

urlpatterns = [
    path("", views.KnowledgeBaseListCreate.as_view(), name="knowledge-list"),
    path("<int:kb_id>/", views.KnowledgeBaseDetail.as_view(), name="knowledge-detail"),
    path("<int:kb_id>/document/", views.DocumentListUpload.as_view(), name="knowledge-documents"),
    path("<int:kb_id>/search/", views.KnowledgeSearch.as_view(), name="knowledge-search"),
    path("document/<int:pk>/", views.DocumentDetail.as_view(), name="document-detail"),
    path("document/<int:pk>/paragraphs/", views.DocumentParagraphs.as_view(), name="document-paragraphs"),
    path("document/<int:pk>/cancel/", views.DocumentCancel.as_view(), name="document-cancel"),
    path("document/<int:pk>/reprocess/", views.DocumentReprocess.as_view(), name="document-reprocess"),
]
