"""HTTP API: login, roles on alert actions, audited transitions, HTTP ingest dedup, evidence PUT/GET."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from sqlalchemy import func, select

from edge import contract as c
from server.db import Alert, AuditLog, Evidence, Finding
from server.testing import *  # noqa: F401,F403 - fixtures
from server.testing import auth_headers, make_edge_token, make_user
from tests.test_ingest_service import opened


@pytest.fixture
def alert_id(db_session, seeded_hall) -> int:
    from server.ingest import ingest

    assert ingest(db_session, opened(seeded_hall.hall.id)).status == "accepted"
    db_session.commit()
    return db_session.scalars(select(Alert.id).where(Alert.hall_id == seeded_hall.hall.id)).one()


def test_login_me_logout(client, db_session):
    user = make_user(db_session, "viewer", password="right-password")
    bad = client.post("/api/v1/auth/login", json={"username": user.username, "password": "wrong-password"})
    assert bad.status_code == 401
    ok = client.post("/api/v1/auth/login", json={"username": user.username, "password": "right-password"})
    assert ok.status_code == 200 and "hallwatch_session" in ok.cookies
    token = ok.json()["access_token"]
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()["role"] == "viewer"
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token[:-2]}xx"}).status_code == 401
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.parametrize("role, action, expected", [
    ("viewer", "acknowledge", 403), ("viewer", "confirm", 403), ("viewer", "dismiss", 403),
    ("inspector", "acknowledge", 200), ("inspector", "confirm", 403),
    ("supervisor", "confirm", 200), ("admin", "confirm", 200), ("supervisor", "close", 409),
])
def test_alert_action_permissions(client, db_session, alert_id, role, action, expected):
    user = make_user(db_session, role)
    r = client.post(f"/api/v1/alerts/{alert_id}/{action}", json={"comment": "看过了"}, headers=auth_headers(user))
    assert r.status_code == expected, r.text
    db_session.expire_all()
    status = db_session.get(Alert, alert_id).status
    assert status == ({"acknowledge": "acknowledged", "confirm": "confirmed"}[action] if expected == 200 else "open")


def test_alert_transitions_are_audited(client, db_session, alert_id):
    inspector, boss = make_user(db_session, "inspector"), make_user(db_session, "supervisor")
    steps = [(inspector, "acknowledge", "已到现场"), (boss, "confirm", "确认离岗"), (boss, "close", None)]
    for user, action, comment in steps:
        r = client.post(f"/api/v1/alerts/{alert_id}/{action}", json={"comment": comment}, headers=auth_headers(user))
        assert r.status_code == 200, r.text
    detail = client.get(f"/api/v1/alerts/{alert_id}", headers=auth_headers(inspector)).json()
    assert [(e["action"], e["actor"], e["to_status"]) for e in detail["events"]] == [
        ("opened", f"edge:{detail['hall_id']}/zhegou-edge-1", "open"),
        ("acknowledge", inspector.username, "acknowledged"),
        ("confirm", boss.username, "confirmed"), ("close", boss.username, "closed")]
    rows = db_session.scalars(select(AuditLog).where(AuditLog.entity_type == "alert",
                                                     AuditLog.entity_id == str(alert_id)).order_by(AuditLog.id)).all()
    # SQLite reuses the ids of rows other tests committed and deleted: this alert's history starts at its last open
    last_open = max(i for i, a in enumerate(rows) if a.action == "alert.open")
    rows = rows[last_open:]
    assert [(a.action, a.before and a.before["status"], a.after["status"]) for a in rows] == [
        ("alert.open", None, "open"), ("alert.acknowledge", "open", "acknowledged"),
        ("alert.confirm", "acknowledged", "confirmed"), ("alert.close", "confirmed", "closed")]
    assert rows[2].after["comment"] == "确认离岗" and rows[2].user_id == boss.id


def test_dismiss_needs_comment_and_filters(client, db_session, alert_id, seeded_hall):
    boss = make_user(db_session, "supervisor")
    h = auth_headers(boss)
    assert client.post(f"/api/v1/alerts/{alert_id}/dismiss", json={}, headers=h).status_code == 422
    assert client.post(f"/api/v1/alerts/{alert_id}/dismiss", json={"comment": "误报: 顾客"}, headers=h).status_code == 200
    hall = seeded_hall.hall.id
    listed = client.get("/api/v1/alerts", params={"hall": hall, "status": "dismissed"}, headers=h).json()
    assert [a["id"] for a in listed] == [alert_id]
    assert client.get("/api/v1/alerts", params={"hall": hall, "status": "open"}, headers=h).json() == []
    assert client.get("/api/v1/alerts", params={"hall": hall, "window": "W02"}, headers=h).json()[0]["finding"][
        "window_code"] == "W02"


def test_http_ingest_twice_stored_once(client, db_session, seeded_hall):
    hall = seeded_hall.hall.id
    token = make_edge_token(db_session, hall, "zhegou-edge-1")
    body = c.encode(opened(hall))
    h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    r1, r2 = client.post("/api/v1/ingest", content=body, headers=h), client.post("/api/v1/ingest", content=body, headers=h)
    assert (r1.status_code, r1.json()["status"], r2.status_code, r2.json()["status"]) == (202, "accepted", 200,
                                                                                        "duplicate")
    assert db_session.scalar(select(func.count()).select_from(Finding).where(Finding.hall_id == hall)) == 1
    bad = client.post("/api/v1/ingest", content=b"{oops", headers=h)
    assert (bad.status_code, bad.json()["reason"]) == (422, "not_json")
    other = c.encode(opened(hall, edge_id="someone-else"))
    assert client.post("/api/v1/ingest", content=other, headers=h).status_code == 403
    assert client.post("/api/v1/ingest", content=body, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_evidence_put_idempotent_and_verified(client, db_session, seeded_hall, app):
    hall = seeded_hall.hall.id
    token = make_edge_token(db_session, hall, "zhegou-edge-1")
    data = b"\xff\xd8\xff\xe0 fake-but-real bytes " + uuid.uuid4().bytes
    sha = hashlib.sha256(data).hexdigest()
    h = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}
    assert client.put(f"/api/v1/evidence/{sha}", content=data, headers=h).status_code == 201
    assert client.put(f"/api/v1/evidence/{sha}", content=data, headers=h).status_code == 200
    wrong = client.put(f"/api/v1/evidence/{'0' * 64}", content=data, headers=h)
    assert wrong.status_code == 422 and "hash_mismatch" in wrong.text
    assert not app.state.store.exists("0" * 64)
    assert client.put(f"/api/v1/evidence/{sha}", content=data, headers={"Authorization": "Bearer x"}).status_code == 401
    app.state.store.max_bytes = 4
    big = b"12345"
    assert client.put(f"/api/v1/evidence/{hashlib.sha256(big).hexdigest()}", content=big, headers=h).status_code == 413
    viewer = make_user(db_session, "viewer")
    got = client.get(f"/api/v1/evidence/{sha}", headers=auth_headers(viewer))
    assert (got.status_code, got.content, got.headers["content-type"]) == (200, data, "image/jpeg")
    assert client.get(f"/api/v1/evidence/{sha}").status_code == 401
    ev = db_session.get(Evidence, sha)
    assert (ev.stored, ev.size) == (True, len(data))


def test_admin_creates_edge_token_once(client, db_session, seeded_hall):
    admin, boss = make_user(db_session, "admin"), make_user(db_session, "supervisor")
    body = {"hall_id": seeded_hall.hall.id, "code": "edge-2"}
    assert client.post("/api/v1/edges", json=body, headers=auth_headers(boss)).status_code == 403
    r = client.post("/api/v1/edges", json=body, headers=auth_headers(admin))
    assert r.status_code == 201 and r.json()["token"].startswith("hwe_")
    listed = client.get("/api/v1/edges", params={"hall": body["hall_id"]}, headers=auth_headers(boss)).json()
    assert {(e["code"], e["has_token"]) for e in listed} == {("edge-2", True), ("zhegou-edge-1", False)}
    assert "token" not in listed[0]


def test_halls_windows_roster_metrics(client, db_session, seeded_hall, alert_id):
    viewer = make_user(db_session, "viewer")
    hall = seeded_hall.hall.id
    wins = client.get(f"/api/v1/halls/{hall}/windows", headers=auth_headers(viewer)).json()
    w1 = next(w for w in wins if w["code"] == "W01")
    assert [(r["role"], r["staff_code"]) for r in w1["roster"]] == [("A", "S001"), ("B", "S002")]
    text = client.get("/metrics").text
    assert f'hallwatch_alerts{{hall="{hall}",status="open"}} 1' in text
    assert "hallwatch_ingest_accepted_total" in text


def test_live_events_only_after_commit(db_session, alert_id):
    import asyncio

    from server.alerts import transition
    from server.events import subscribe

    boss = make_user(db_session, "supervisor")

    async def scenario() -> list[dict]:
        async with subscribe() as queue:
            alert = db_session.get(Alert, alert_id)
            transition(db_session, alert, "acknowledge", boss, "rolled back")
            db_session.rollback()  # nothing may be announced
            await asyncio.sleep(0)
            assert queue.empty()
            alert = db_session.get(Alert, alert_id)
            transition(db_session, alert, "confirm", boss, "kept")
            db_session.commit()
            return [await asyncio.wait_for(queue.get(), 5)]

    events = asyncio.run(scenario())
    assert [(e["type"], e["alert_id"], e["status"]) for e in events] == [("alert.confirm", alert_id, "confirmed")]
