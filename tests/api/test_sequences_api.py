"""Sequences through the API: `body` is step 1, `steps` the later ones."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_api_writes_and_reads_a_sequence(api):
    created = api.post(
        "/api/v1/campaigns/",
        {
            "name": "Sequence",
            "body": "One. Reply STOP to opt out.",
            "steps": [
                {"body": "Two", "delay": 3, "delay_unit": "hours"},
                {"body": "Three", "send_at": "2030-01-02T09:00:00Z"},
            ],
            "stop_on_reply": False,
        },
        format="json",
    ).json()
    assert [(s["number"], s["body"]) for s in created["steps"]] == [
        (2, "Two"),
        (3, "Three"),
    ]
    assert created["steps"][0]["delay_unit"] == "hours"
    assert created["steps"][1]["send_at"].startswith("2030-01-02T09:00")
    assert created["stop_on_reply"] is False and created["stop_on_opt_out"] is True
    one_step = api.patch(
        f"/api/v1/campaigns/{created['id']}/",
        {"body": "Only one now.", "steps": []},
        format="json",
    ).json()
    assert one_step["body"] == "Only one now." and one_step["steps"] == []


def test_a_one_step_campaign_still_takes_only_a_body(api):
    created = api.post(
        "/api/v1/campaigns/", {"name": "Plain", "body": "Hi"}, format="json"
    ).json()
    assert created["body"] == "Hi" and created["steps"] == []
