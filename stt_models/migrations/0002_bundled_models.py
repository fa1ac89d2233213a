from django.db import migrations


def register(apps, schema_editor):
    from stt_models.bundled import ensure_bundled_models

    ensure_bundled_models(apps.get_model("stt_models", "SpeechModel"))


class Migration(migrations.Migration):
    dependencies = [("stt_models", "0001_initial")]
    operations = [migrations.RunPython(register, migrations.RunPython.noop)]
