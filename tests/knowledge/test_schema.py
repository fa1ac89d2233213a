"""The OpenAPI schema is complete: it generates and validates without a warning."""

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_generates_without_warnings_and_lists_every_api(tmp_path):
    target = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    paths = yaml.safe_load(target.read_text())["paths"]
    for path in ["/api/knowledge/{kb_id}/document/", "/api/llm-models/{id}/test/", "/api/stt-models/{id}/test/",
                 "/api/knowledge/document/{id}/transcript/"]:  # fmt: skip
        assert path in paths
