"""叫号 and 好差评 from the hall's queue system: a batch is stored event by event (bad ones reported, duplicates
ignored), the queue during an empty-seat episode is shown next to the finding, and the per-window summary
separates 空岗 with people waiting from 空岗 with nobody waiting."""

from __future__ import annotations

import datetime as dt

import pytest

from server.testing import *  # fixtures: client, db_session, …
from tests.people_helpers import Hall, local, make_hall


@pytest.fixture
def hall(client, db_session) -> Hall:
    return make_hall(client, db_session)


def ev(i: str, window: str, kind: str, at: dt.datetime, **kw) -> dict:
    return {"id": i, "window_id": window, "type": kind, "at": at.isoformat(), **kw}


def test_events_finding_queue_and_summary(hall):
    token = hall.post(f"/api/v1/people/halls/{hall.hall_id}/integration-tokens", "admin",
                      json={"purpose": "queue", "label": "叫号机"}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    batch = [
        ev("q1", "W01", "ticket_issued", local(2026, 11, 23, 9, 55), ticket="A001", waiting=3),
        ev("q2", "W01", "ticket_called", local(2026, 11, 23, 10, 10), ticket="A001", waiting=5),
        ev("q3", "W01", "ticket_issued", local(2026, 11, 23, 10, 20), ticket="A002", waiting=6),
        ev("q4", "W01", "evaluation", local(2026, 11, 23, 11), rating="非常满意"),
        ev("q5", "W01", "evaluation", local(2026, 11, 23, 11, 5), rating=2),
        ev("q6", "W02", "evaluation", local(2026, 11, 23, 11, 6), rating="bad"),
        ev("q7", "W02", "ticket_served", local(2026, 11, 23, 11, 7), ticket="B001", waiting=0),
        ev("bad1", "W77", "ticket_called", local(2026, 11, 23, 10)),
        ev("bad2", "W01", "evaluation", local(2026, 11, 23, 10)),
        ev("bad3", "W01", "evaluation", local(2026, 11, 23, 10), rating=9),
        ev("bad4", "W01", "ticket_called", dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)),
        {"id": "bad5", "window_id": "W01", "type": "ticket_called"},
        "not an object",
        ev("q1", "W01", "ticket_issued", local(2026, 11, 23, 9, 55), ticket="A001", waiting=3),  # sent twice
    ]
    url = "/api/v1/integrations/service-events"
    assert hall.client.post(url, json={"events": batch}).status_code == 401
    r = hall.client.post(url, json={"events": batch}, headers=auth)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["accepted"], out["duplicate"]) == (7, 1)
    assert [(x["index"], x["error"].split(":")[0]) for x in out["rejected"]] == [
        (7, "unknown window 'W77'"), (8, "an evaluation needs a rating"), (9, "rating"), (10, "time is in the future"),
        (11, "at"), (12, "")]
    assert hall.client.post(url, json={"events": batch[:3]}, headers=auth).json()["duplicate"] == 3  # resent batch

    w01 = hall.finding("window_unstaffed", "W01", local(2026, 11, 23, 10), duration_s=2400)
    w02 = hall.finding("window_unstaffed", "W02", local(2026, 11, 23, 14), duration_s=1900)
    ctx = hall.get(f"/api/v1/people/alerts/{hall.alert(w01)['id']}/context").json()
    assert ctx["queue"] == {"waiting_at_start": 3, "waiting_max": 6, "reported": True, "tickets_called": 1,
                            "tickets_served": 0, "evaluations": {"count": 0, "good": 0, "basic": 0, "bad": 0,
                                                                "average": None}}
    q2 = hall.get(f"/api/v1/people/alerts/{hall.alert(w02)['id']}/context").json()["queue"]
    assert (q2["waiting_at_start"], q2["waiting_max"]) == (0, 0)  # nobody waiting at W02 that afternoon

    s = hall.get(f"/api/v1/people/halls/{hall.hall_id}/service-summary?since=2026-11-23&until=2026-11-23").json()
    rows = {x["window"]["id"]: x for x in s["windows"]}
    assert (rows["W01"]["tickets_issued"], rows["W01"]["tickets_called"], rows["W01"]["waiting_max"]) == (2, 1, 6)
    assert rows["W01"]["evaluations"] == {"count": 2, "good": 1, "basic": 0, "bad": 1, "average": 3.5}
    assert (rows["W01"]["empty_findings"], rows["W01"]["empty_with_queue"], rows["W01"]["empty_with_queue_s"]) == (
        1, 1, 2400)
    assert (rows["W02"]["empty_findings"], rows["W02"]["empty_with_queue"]) == (1, 0)
    assert rows["W02"]["evaluations"]["bad"] == 1 and rows["W03"]["tickets_called"] == 0
    other_day = hall.get(f"/api/v1/people/halls/{hall.hall_id}/service-summary?since=2026-11-24").json()
    assert all(x["tickets_issued"] == 0 and x["empty_findings"] == 0 for x in other_day["windows"])
    assert hall.get(f"/api/v1/people/halls/{hall.hall_id}/service-summary?since=2026-11-25&until=2026-11-23"
                    ).status_code == 422


def test_batch_limits(hall):
    token = hall.post(f"/api/v1/people/halls/{hall.hall_id}/integration-tokens", "admin",
                      json={"purpose": "queue"}).json()
    auth = {"Authorization": f"Bearer {token['token']}"}
    big = [ev(f"e{i}", "W01", "ticket_called", local(2026, 11, 23, 9)) for i in range(1001)]
    assert hall.client.post("/api/v1/integrations/service-events", json={"events": big}, headers=auth
                            ).status_code == 422
    assert hall.client.post("/api/v1/integrations/service-events", json={"events": []}, headers=auth
                            ).status_code == 422
    hall.post(f"/api/v1/people/integration-tokens/{token['id']}/revoke", "admin")
    assert hall.client.post("/api/v1/integrations/service-events", json={"events": big[:1]}, headers=auth
                            ).status_code == 401
