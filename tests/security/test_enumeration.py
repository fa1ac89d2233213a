"""Oracles for other users' data (item 16): knowledge-base names were unique across all users,
so "name taken" told anyone what others called theirs; adding a member answered differently for
user names that exist. Names are unique per owner; a member grant answers the same for all."""

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_another_users_knowledge_base_name_is_free_to_use(people):
    mine = people.alice.post("/api/knowledge/", json={"name": "Acquisition of Initech"})
    theirs = people.bob.post("/api/knowledge/", json={"name": "Acquisition of Initech"})
    twice = people.bob.post("/api/knowledge/", json={"name": "Acquisition of Initech"})

    assert mine.status_code == 201 and theirs.status_code == 201, theirs.text
    assert twice.status_code == 400 and "you already have" in twice.json()["errors"]["name"][0]
    assert {kb["name"] for kb in people.bob.get("/api/knowledge/").json()["results"]} == {"Acquisition of Initech"}


def test_adding_a_member_answers_the_same_for_unknown_and_existing_users(people):
    kb = people.alice.post("/api/knowledge/", json={"name": "team"}).json()["id"]

    def grant(username: str):
        response = people.alice.post(f"/api/knowledge/{kb}/members/", json={"username": username, "role": "viewer"})
        body = response.json()
        return response.status_code, {k: v.replace(username, "<name>") for k, v in body.items()}

    existing, unknown = grant("bob"), grant("no-such-user-4471")

    assert existing == unknown and existing[0] == 202, (existing, unknown)
    members = people.alice.get(f"/api/knowledge/{kb}/members/").json()
    assert [m["username"] for m in members] == ["bob"]  # the grant took effect where the user exists
    assert people.bob.get(f"/api/knowledge/{kb}/").status_code == 200
