import pytest
from django.core.files.base import ContentFile

from knowledge.models import Document, KnowledgeBase, Status


@pytest.fixture
def documents(db):
    kb = KnowledgeBase.objects.create(name="admin-kb")
    made = []
    for name, doc_status, error in [("good.mp3", Status.SUCCESS, ""), ("bad.mp3", Status.FAILURE, "the file is empty")]:
        doc = Document(knowledge_base=kb, name=name, sha256="0" * 64, status=doc_status, error=error, progress=1.0)
        doc.file.save(name, ContentFile(b"x"), save=True)
        made.append(doc)
    return made


def test_admin_document_list_shows_status_progress_error_and_filters_by_status(admin_client, documents):
    response = admin_client.get("/admin/knowledge/document/", {"status__exact": "FAILURE"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "bad.mp3" in page and "the file is empty" in page and "100%" in page
    assert "good.mp3" not in page
    assert "Media knowledge base" in page  # templates/admin/base_site.html


def test_admin_reprocess_action_requeues_failed_documents(admin_client, documents, speech_models):
    bad = documents[1]

    admin_client.post(
        "/admin/knowledge/document/",
        {"action": "reprocess_documents", "_selected_action": [d.pk for d in documents]},
    )

    assert Document.objects.get(pk=bad.pk).status == Status.PENDING
    assert Document.objects.get(pk=documents[0].pk).status == Status.SUCCESS


def test_admin_speech_model_and_document_detail_pages_render(admin_client, documents, speech_models):
    assert admin_client.get("/admin/stt_models/speechmodel/").status_code == 200
    assert admin_client.get(f"/admin/knowledge/document/{documents[0].pk}/change/").status_code == 200
    assert admin_client.get("/admin/knowledge/knowledgebase/").status_code == 200
