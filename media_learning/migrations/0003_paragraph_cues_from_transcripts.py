"""Paragraphs indexed before they kept their cues get them from the stored transcript: each
segment of the document's transcript chunks whose middle falls inside a transcript paragraph's
span becomes one of its cues ([start, end, text]), so that old documents' citations open at the
sentence that answers too. Documents without stored chunks keep opening at the paragraph start."""

from django.db import migrations

BATCH = 500


def fill_cues(apps, schema_editor):
    Paragraph = apps.get_model("knowledge", "Paragraph")
    TranscriptChunk = apps.get_model("media_learning", "TranscriptChunk")
    documents = (
        Paragraph.objects.filter(kind="transcript", cues=[]).values_list("document_id", flat=True).distinct()
    )
    for document_id in documents.iterator():
        segments = []
        for chunk in TranscriptChunk.objects.filter(document_id=document_id).order_by("index"):
            for s in chunk.segments or []:
                try:
                    start, end, text = float(s["start"]), float(s["end"]), str(s.get("text") or "").strip()
                except (KeyError, TypeError, ValueError):
                    continue
                if text:
                    segments.append((start, end, text))
        if not segments:
            continue
        changed = []
        for paragraph in Paragraph.objects.filter(document_id=document_id, kind="transcript", cues=[]):
            cues = [[round(a, 3), round(b, 3), t] for a, b, t in segments
                    if paragraph.start - 0.01 <= (a + b) / 2 <= paragraph.end + 0.01]  # fmt: skip
            if cues:
                paragraph.cues = cues
                changed.append(paragraph)
        Paragraph.objects.bulk_update(changed, ["cues"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0022_paragraph_cues"),
        ("media_learning", "0002_segment_fanout"),
    ]

    operations = [migrations.RunPython(fill_cues, migrations.RunPython.noop)]
