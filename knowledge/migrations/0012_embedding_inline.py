from django.db import migrations


class Migration(migrations.Migration):
    """Keep each paragraph's vector in its row (storage MAIN). pgvector's type defaults to
    EXTERNAL, so a row past PostgreSQL's 2 KB threshold (any 512-dimension vector with its text)
    had its vector moved to the TOAST table, and every search candidate's distance read it from
    there: bench/search.py at 100,000 paragraphs went from p50 14 ms to 26 ms. MAIN vectors leave
    the row only when it passes a whole page. Rows written before keep their place until rewritten
    (``manage.py reindex --all`` rewrites them)."""

    dependencies = [("knowledge", "0011_language_defaults_and_detection")]
    operations = [
        migrations.RunSQL(
            "ALTER TABLE knowledge_paragraph ALTER COLUMN embedding SET STORAGE MAIN",
            "ALTER TABLE knowledge_paragraph ALTER COLUMN embedding SET STORAGE EXTERNAL",
        )
    ]
