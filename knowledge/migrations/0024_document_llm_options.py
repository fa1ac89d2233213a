# The LLM's options move out of Document.options into their own field, so that the stored
# options say what the transcript was made with and nothing else.

from django.db import migrations, models

NAMES = "ARRAY['enable_punctuation', 'enable_summary', 'summary_prompt']"

FORWARD = f"""
UPDATE knowledge_document
SET llm_options = (SELECT coalesce(jsonb_object_agg(key, value), '{{}}'::jsonb)
                   FROM jsonb_each(options) WHERE key = ANY({NAMES})),
    options = options - {NAMES}
WHERE jsonb_typeof(options) = 'object' AND options ?| {NAMES}
"""
BACKWARD = """
UPDATE knowledge_document SET options = options || llm_options, llm_options = '{}'::jsonb
WHERE jsonb_typeof(options) = 'object' AND jsonb_typeof(llm_options) = 'object' AND llm_options <> '{}'::jsonb
"""


class Migration(migrations.Migration):

    dependencies = [
        ('knowledge', '0023_paragraph_english_embedding'),
    ]

    operations = [
        migrations.AddField(
            model_name='document',
            name='llm_options',
            field=models.JSONField(blank=True, default=dict, help_text='LLM options'),
        ),
        migrations.AlterField(
            model_name='document',
            name='options',
            field=models.JSONField(blank=True, default=dict, help_text='transcription options'),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
