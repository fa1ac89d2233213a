from django.urls import path

from knowledge.api import ask, events, media, paragraphs, views

urlpatterns = [
    path("", views.KnowledgeBaseListCreate.as_view(), name="knowledge-list"),
    path("<int:kb_id>/", views.KnowledgeBaseDetail.as_view(), name="knowledge-detail"),
    path("<int:kb_id>/members/", views.MemberList.as_view(), name="knowledge-members"),
    path("<int:kb_id>/members/<str:username>/", views.MemberDetail.as_view(), name="knowledge-member"),
    path("<int:kb_id>/document/", views.DocumentListUpload.as_view(), name="knowledge-documents"),
    path("<int:kb_id>/search/", views.KnowledgeSearch.as_view(), name="knowledge-search"),
    path("<int:kb_id>/ask/", ask.KnowledgeAsk.as_view(), name="knowledge-ask"),
    path("<int:kb_id>/speakers/", paragraphs.KnowledgeBaseSpeakers.as_view(), name="knowledge-speakers"),
    path("paragraph/<int:pk>/", paragraphs.ParagraphCorrection.as_view(), name="paragraph-correction"),
    path("paragraph/<int:pk>/revisions/", paragraphs.ParagraphRevisions.as_view(), name="paragraph-revisions"),
    path("document/<int:pk>/speakers/", paragraphs.DocumentSpeakers.as_view(), name="document-speakers"),
    path("document/", views.DocumentList.as_view(), name="document-list"),
    path("document/events/", events.DocumentsEvents.as_view(), name="documents-events"),
    path("document/<int:pk>/", views.DocumentDetail.as_view(), name="document-detail"),
    path("document/<int:pk>/paragraphs/", views.DocumentParagraphs.as_view(), name="document-paragraphs"),
    path("document/<int:pk>/summary/", views.DocumentSummary.as_view(), name="document-summary"),
    path("document/<int:pk>/media/", media.DocumentMedia.as_view(), name="document-media"),
    path("document/<int:pk>/events/", events.DocumentEvents.as_view(), name="document-events"),
    path("document/<int:pk>/cancel/", views.DocumentCancel.as_view(), name="document-cancel"),
    path("document/<int:pk>/reprocess/", views.DocumentReprocess.as_view(), name="document-reprocess"),
]
