import json

import pytest
from django.core.files.base import ContentFile

from knowledge.models import Document, KnowledgeBase, Status
from tests.factories import DocumentFactory


@pytest.fixture
def documents(db):
    kb = KnowledgeBase.objects.create(name="admin-kb")
    made = []
    for name, doc_status, error in [("good.mp3", Status.SUCCESS, ""), ("bad.mp3", Status.FAILURE, "the file is empty")]:
        doc = DocumentFactory.build(knowledge_base=kb, name=name, status=doc_status, error=error, progress=1.0)
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


def test_admin_rerun_action_queues_finished_documents_and_keeps_them_searchable(admin_client, documents,
                                                                               speech_models):  # fmt: skip
    good, bad = documents

    admin_client.post("/admin/knowledge/document/",
                      {"action": "rerun_documents", "_selected_action": [good.pk, bad.pk]})  # fmt: skip

    again = Document.objects.get(pk=good.pk)
    assert again.status == Status.PENDING and again.searchable and again.runs.count() == 0
    assert Document.objects.get(pk=bad.pk).status == Status.FAILURE  # reprocessing is the other action


def test_admin_speech_model_and_document_detail_pages_render(admin_client, documents, speech_models):
    assert admin_client.get("/admin/stt_models/speechmodel/").status_code == 200
    assert admin_client.get(f"/admin/knowledge/document/{documents[0].pk}/change/").status_code == 200
    assert admin_client.get("/admin/knowledge/knowledgebase/").status_code == 200


def test_admin_shows_badges_progress_bars_and_a_transcript_with_timestamps(admin_client, documents):
    from knowledge.models import Paragraph

    good = documents[0]
    Paragraph.objects.create(document=good, knowledge_base=good.knowledge_base, position=0, content="Jupiter is big.",
                             start=75.5, end=80)  # fmt: skip

    listing = admin_client.get("/admin/knowledge/document/").content.decode()
    transcript = admin_client.get(f"/admin/knowledge/document/{good.pk}/transcript/").content.decode()

    assert 'class="status-badge"' in listing and "#198754" in listing and '<progress value="100"' in listing
    assert "01:15" in transcript and "Jupiter is big." in transcript and 'data-start="75.5"' in transcript
    assert f"/api/knowledge/document/{good.pk}/media/" in transcript  # the player's source checks access


def test_admin_never_shows_the_webhook_secret(admin_client, documents):
    kb = documents[0].knowledge_base
    secret = kb.webhook_secret

    page = admin_client.get(f"/admin/knowledge/knowledgebase/{kb.pk}/change/").content.decode()

    assert secret and secret not in page and 'name="webhook_secret"' in page


def test_admin_staff_see_and_act_only_where_they_hold_a_role(client, documents, django_user_model):
    from django.contrib.auth.models import Permission

    from knowledge.models import Membership, Role

    staff = django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="knowledge"))
    mine = KnowledgeBase.objects.create(name="clerk-kb", owner=staff)
    own_doc = DocumentFactory(knowledge_base=mine, name="own.mp3", status=Status.FAILURE)
    client.force_login(staff)

    listing = client.get("/admin/knowledge/document/").content.decode()
    others = client.get(f"/admin/knowledge/document/{documents[1].pk}/change/")
    client.post("/admin/knowledge/document/", {"action": "reprocess_documents",
                                               "_selected_action": [documents[1].pk, own_doc.pk]})  # fmt: skip
    Membership.objects.create(knowledge_base=documents[0].knowledge_base, user=staff, role=Role.VIEWER)
    viewer_delete = client.post(f"/admin/knowledge/document/{documents[0].pk}/delete/", {"post": "yes"})

    assert "own.mp3" in listing and "bad.mp3" not in listing and others.status_code == 302  # "does not exist"
    assert Document.objects.get(pk=documents[1].pk).status == Status.FAILURE  # not theirs: untouched
    assert Document.objects.get(pk=own_doc.pk).status == Status.PENDING
    assert viewer_delete.status_code == 403 and Document.objects.filter(pk=documents[0].pk).exists()


def test_admin_checks_edited_options_as_an_upload_s(rf, admin_user, documents, speech_models, language_model):
    from django.contrib import admin as django_admin

    good = documents[0]
    request = rf.get("/")
    request.user = admin_user
    form_class = django_admin.site._registry[Document].get_form(request, good)

    def submit(**changes):
        blank = form_class(instance=good)
        data = {name: field.prepare_value(blank.initial.get(name)) for name, field in blank.fields.items()}
        data.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in changes.items()})
        return form_class(data=data, instance=good)

    wrong = submit(options={"beam_size": 99})
    misplaced = submit(options={"summary_prompt": "x"})
    no_llm = submit(llm_options={"enable_summary": True})
    not_an_object = submit(options=["en"])
    assert not wrong.is_valid() and "beam_size" in str(wrong.errors)
    assert not misplaced.is_valid() and "transcription options go in options" in str(misplaced.errors)
    assert not no_llm.is_valid() and "need an LLM" in str(no_llm.errors)
    assert not not_an_object.is_valid() and "An object of options" in str(not_an_object.errors)

    fine = submit(options={"beam_size": "3", "language": "en"}, llm_model=str(language_model.pk),
                  llm_options={"summary_prompt": "Two lines."})  # fmt: skip
    assert fine.is_valid(), fine.errors
    saved = fine.save()
    assert saved.options == {"beam_size": 3, "language": "en"}
    assert saved.llm_options == {"enable_punctuation": True, "enable_summary": True, "summary_prompt": "Two lines."}
    off = submit(llm_model=str(language_model.pk), llm_options={"enable_punctuation": False, "enable_summary": False})
    assert off.is_valid(), off.errors
    assert off.save().llm_model is None  # as an upload: nothing left for the LLM to do
