"""Security defects, one test each: evidence types and integrity, sign-off seals, hall scoping, ids that become
topics, contract strictness, login throttling, CSRF, 4xx on bad input, security headers and /metrics."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid

import pytest
from sqlalchemy import select

from server.db import Evidence
from server.testing import auth_headers, make_edge_token, make_user, unique_site


def jpeg(seed: int = 1) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (seed * 37 % 256, 80, 120)).save(out, "JPEG")
    return out.getvalue()


def hall_user(db_session, role: str, hall_id: str | None):
    user = make_user(db_session, role)
    user.hall_id = hall_id
    db_session.commit()
    return user


@pytest.fixture
def two_halls(db_session):
    from server.siteimport import import_site

    a, b = unique_site(), unique_site()
    for cfg in (a, b):
        import_site(db_session, cfg, actor="test")
    db_session.commit()
    return a, b


def put(client, token: str, data: bytes, content_type: str = "image/jpeg"):
    sha = hashlib.sha256(data).hexdigest()
    return sha, client.put(f"/api/v1/evidence/{sha}", content=data,
                           headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})


# ----------------------------------------------------------------------------- 2: evidence types and headers

PAGE = b"<html><script>fetch('/api/v1/auth/me').then(r => r.text()).then(alert)</script></html>"


@pytest.mark.parametrize("body", [PAGE, b"GIF89a" + b"\x00" * 20, b"%PDF-1.7\n", b"", b"\xff\xd8"],
                         ids=["html", "gif", "pdf", "empty", "short-jpeg"])
def test_evidence_upload_refuses_other_types(client, db_session, seeded_hall, body) -> None:
    token = make_edge_token(db_session, seeded_hall.hall.id, seeded_hall.edge.id)
    sha, r = put(client, token, body, content_type="text/html")
    assert r.status_code == 415, r.text
    assert db_session.get(Evidence, sha) is None and not client.app.state.store.exists(sha)


@pytest.mark.parametrize("path", ["/api/v1/evidence/{sha}", "/api/v1/console/evidence/{sha}"])
def test_evidence_served_with_its_own_type_and_safe_headers(client, db_session, seeded_hall, path) -> None:
    token = make_edge_token(db_session, seeded_hall.hall.id, seeded_hall.edge.id)
    data = jpeg(3)
    sha, r = put(client, token, data, content_type="text/html")  # the claimed type is ignored
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "image/jpeg"
    got = client.get(path.format(sha=sha), headers=auth_headers(make_user(db_session, "viewer")))
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    assert "default-src 'none'" in got.headers["content-security-policy"]
    assert got.headers["content-disposition"] == f'inline; filename="{sha}.jpg"'


# ----------------------------------------------------------------------------- 15: integrity

@pytest.mark.parametrize("path", ["/api/v1/evidence/{sha}", "/api/v1/console/evidence/{sha}"])
def test_tampered_evidence_is_refused(client, db_session, seeded_hall, path) -> None:
    token = make_edge_token(db_session, seeded_hall.hall.id, seeded_hall.edge.id)
    sha, r = put(client, token, jpeg(5))
    assert r.status_code == 201
    h = auth_headers(make_user(db_session, "viewer"))
    assert client.get(path.format(sha=sha), headers=h).status_code == 200
    client.app.state.store.path(sha).write_bytes(jpeg(6))  # same type, other picture, same name
    got = client.get(path.format(sha=sha), headers=h)
    assert got.status_code == 409 and "hash" in got.json()["detail"]


def test_signoff_seal_detects_an_edit_with_a_recomputed_hash(db_session, seeded_hall, tmp_path) -> None:
    from server.assessment import signoff as so
    from server.assessment.scheme import load_scheme
    from server.assessment.service import sheet_hash
    from server.storage import LocalDiskStore

    hall = seeded_hall.hall.id
    as_of = dt.datetime(2026, 10, 8, tzinfo=dt.UTC)
    row = so.sign_off(db_session, load_scheme(), hall, "2026Q3", actor="sup", as_of=as_of)
    db_session.commit()
    store = LocalDiskStore(tmp_path)
    assert so.verify(db_session, hall, "2026Q3", store.open)["ok"]
    edited = {**row.snapshot, "period": "2026Q4"}
    row.snapshot, row.sha256 = edited, sheet_hash(edited)  # an editor of the database recomputes the hash
    db_session.commit()
    report = so.verify(db_session, hall, "2026Q3", store.open)
    assert not report["ok"] and ("snapshot", "bad_seal") in [(p["what"], p["problem"]) for p in report["problems"]]
    assert so.verify(db_session, hall, "2026Q3", store.open, key="another-key-" + "k" * 30)["ok"] is False


def test_production_refuses_a_short_signoff_key() -> None:
    from server.settings import InsecureSettings, Settings

    good = {"mode": "production", "secret_key": "s" * 40, "metrics_token": "m" * 32}
    Settings(**good).check()
    with pytest.raises(InsecureSettings, match="SIGNOFF_KEY"):
        Settings(**good, signoff_key="short").check()
    with pytest.raises(InsecureSettings, match="SIGNOFF_KEY"):
        Settings(**good, signoff_key="s" * 40).check()


# ----------------------------------------------------------------------------- 5: ids that become topics

@pytest.mark.parametrize("code", ["bad\u009dedge", "a/b", "+", "#", "edge one", "edge\n", "", "x" * 65, "-lead"])
def test_edge_codes_are_topic_safe(client, db_session, seeded_hall, code) -> None:
    from server.edges import EdgeError, issue_edge_token

    admin = make_user(db_session, "admin")
    r = client.post("/api/v1/edges", json={"hall_id": seeded_hall.hall.id, "code": code}, headers=auth_headers(admin))
    assert r.status_code == 422, r.text
    with pytest.raises(EdgeError):
        issue_edge_token(db_session, seeded_hall.hall.id, code, actor="test")


def test_one_bad_edge_id_never_wedges_the_command_client(mqtt_broker, server_settings, session_factory,
                                                           db_session, two_halls) -> None:
    """An edge row with a control character (stored before ids were checked) is skipped; the client keeps
    working for that hall's other edges and for every other hall."""
    from edge.contract import Command
    from server.db import Edge
    from server.ingest.mqtt import CommandPublisher

    a, b = two_halls
    db_session.add_all([Edge(hall_id=a.hall.id, code="bad\u009dedge"), Edge(hall_id=a.hall.id, code="good-a"),
                        Edge(hall_id=b.hall.id, code="good-b")])
    db_session.commit()
    settings = server_settings.model_copy(update={"mqtt_url": f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}",
                                                  "mqtt_client_id": f"sec-{uuid.uuid4().hex[:8]}"})
    pub = CommandPublisher(settings, session_factory)
    try:
        for _ in range(2):
            for hall in (a.hall.id, b.hall.id):
                pub.send_command(hall, "duty_check", timeout_s=30)
        sent = pub.publish_to_edges(a.hall.id, lambda code: Command(type="command.duty_check", hall_id=a.hall.id,
                                                                    edge_id=code), timeout_s=30)
        assert "good-a" in sent and "bad\u009dedge" not in sent
    finally:
        pub.close()


# ----------------------------------------------------------------------------- 6, 14: contract strictness

def finding_closed(**kw) -> dict:
    base = {"schema_version": 1, "type": "finding.closed", "id": str(uuid.uuid4()), "hall_id": "h1",
            "edge_id": "e1", "sent_at": "2026-09-01T08:00:00+08:00", "finding_id": str(uuid.uuid4()),
            "rule": "window_unstaffed", "ended_at": "2026-09-01T08:00:00+08:00", "duration_s": 60.0,
            "details": {"absent_s": 60}}
    base.update(kw)
    return base


def nested(depth: int) -> dict:
    node: dict = {"leaf": 1}
    for _ in range(depth):
        node = {"n": node}
    return node


CONTRACT_CASES = [
    ("valid", {}, None),
    ("schema_version true", {"schema_version": True}, "schema_version"),
    ("schema_version 1.0", {"schema_version": 1.0}, "schema_version"),
    ("sent_at integer", {"sent_at": 1700000000}, "invalid"),
    ("ended_at float", {"ended_at": 1700000000.5}, "invalid"),
    ("details 300 deep", {"details": nested(300)}, "invalid"),
    ("details 9 deep", {"details": nested(9)}, "invalid"),
    ("details 6 deep", {"details": nested(6)}, None),
    ("details 20 KiB", {"details": {"blob": "x" * 20_000}}, "invalid"),
    ("hall with control", {"hall_id": "bad\u009dhall"}, "invalid"),
    ("edge with slash", {"edge_id": "a/b"}, "invalid"),
    ("edge wildcard", {"edge_id": "+"}, "invalid"),
]


@pytest.mark.parametrize("name,change,reason", CONTRACT_CASES, ids=[c[0] for c in CONTRACT_CASES])
def test_contract_is_strict(name, change, reason) -> None:
    import json

    from edge import contract as c

    raw = json.dumps(finding_closed(**change)).encode()
    if reason is None:
        assert c.parse_message(raw).type == "finding.closed"
        return
    with pytest.raises(c.ContractError) as err:
        c.parse_message(raw)
    assert err.value.reason == reason, err.value


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN"])
def test_contract_refuses_non_finite_numbers(literal) -> None:
    import json

    from edge import contract as c

    raw = json.dumps(finding_closed()).replace('"duration_s": 60.0', f'"duration_s": {literal}').encode()
    assert literal.encode() in raw
    with pytest.raises(c.ContractError) as err:
        c.parse_message(raw)
    assert err.value.reason == "not_json"


def test_http_ingest_answers_4xx_for_deep_details(client, db_session, seeded_hall) -> None:
    import json

    hall, edge = seeded_hall.hall.id, seeded_hall.edge.id
    token = make_edge_token(db_session, hall, edge)
    body = json.dumps(finding_closed(hall_id=hall, edge_id=edge, details=nested(300))).encode()
    r = client.post("/api/v1/ingest", content=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 422 and r.json()["reason"] == "invalid", r.text


# ----------------------------------------------------------------------------- 9: login throttling

def login(client, username: str, password: str, address: str = "10.0.0.1"):
    client.headers["x-test-address"] = address
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


@pytest.fixture
def addressed_client(app):
    """A test client whose requests come from the address in the ``x-test-address`` header (3 failures lock)."""
    from fastapi.testclient import TestClient

    app.state.settings = app.state.settings.model_copy(update={"login_max_failures": 3})
    class FromAddress:
        def __init__(self, inner):
            self.inner = inner

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                headers = dict(scope.get("headers") or [])
                addr = headers.get(b"x-test-address", b"testclient").decode()
                scope = {**scope, "client": (addr, 1234)}
            await self.inner(scope, receive, send)

    return TestClient(FromAddress(app))


def test_login_locks_a_user_name_after_repeated_failures(app, addressed_client, db_session) -> None:
    from server.db import AuditLog, LoginThrottle

    client = addressed_client
    limit = app.state.settings.login_max_failures
    user = make_user(db_session, "viewer", password="right-password")
    for i in range(limit):
        assert login(client, user.username, f"wrong-{i}", address=f"10.1.0.{i}").status_code == 401
    locked = login(client, user.username, "right-password", address="10.2.0.1")
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    failed = db_session.scalars(select(AuditLog).where(AuditLog.action == "auth.login_failed",
                                                       AuditLog.entity_id == str(user.id))).all()
    assert len(failed) == limit, "every failure is audited although the request answered 401"
    assert db_session.scalars(select(AuditLog).where(AuditLog.action == "auth.login_locked",
                                                     AuditLog.entity_id == str(user.id))).all()
    row = db_session.get(LoginThrottle, f"user:{user.username.lower()}")
    row.locked_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)  # the lockout has passed
    db_session.commit()
    assert login(client, user.username, "right-password", address="10.2.0.1").status_code == 200


def test_login_locks_an_address_trying_many_names(app, addressed_client, db_session) -> None:
    client = addressed_client
    limit = app.state.settings.login_max_failures
    real = make_user(db_session, "viewer", password="right-password")
    for i in range(limit):
        assert login(client, f"guess-{uuid.uuid4().hex[:6]}", "x", address="10.9.9.9").status_code == 401
    assert login(client, real.username, "right-password", address="10.9.9.9").status_code == 429
    assert login(client, real.username, "right-password", address="10.9.9.10").status_code == 200


def test_unknown_user_names_cost_a_password_check(client, db_session, monkeypatch) -> None:
    from server import login_guard

    checked = []
    real = login_guard.verify_password
    monkeypatch.setattr(login_guard, "verify_password", lambda pw, stored: checked.append(stored) or real(pw, stored))
    r = client.post("/api/v1/auth/login", json={"username": f"nobody-{uuid.uuid4().hex[:6]}", "password": "x"})
    assert r.status_code == 401 and len(checked) == 1 and checked[0].startswith("scrypt$")


# ----------------------------------------------------------------------------- 11: CSRF

def test_cookie_writes_need_the_servers_own_origin(client, db_session, seeded_hall) -> None:
    sup = make_user(db_session, "supervisor", password="right-password")
    assert client.post("/api/v1/auth/login", json={"username": sup.username, "password": "right-password"},
                       headers={"Origin": "http://testserver"}).status_code == 200
    assert "hallwatch_session" in client.cookies
    url = f"/api/v1/assessment/halls/{seeded_hall.hall.id}/sheets/2026Q3/sign-off"
    for origin in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                   {"Referer": "https://evil.example/form.html"}):
        r = client.post(url, headers=origin)
        assert r.status_code == 403 and "cross-site" in r.json()["detail"], (origin, r.text)
    assert client.get("/api/v1/auth/me", headers={"Origin": "https://evil.example"}).status_code == 200
    assert client.post(url, headers={"Origin": "http://testserver"}).status_code == 201


# ----------------------------------------------------------------------------- 12: bad input answers 4xx

BAD_INPUT = [
    ("GET", "/api/v1/findings/99999999999", None),
    ("GET", "/api/v1/alerts/99999999999", None),
    ("POST", "/api/v1/alerts/99999999999/acknowledge", {"comment": "x"}),
    ("PATCH", "/api/v1/users/99999999999", {"display_name": "x"}),
    ("GET", "/api/v1/console/duty-checks/99999999999", None),
    ("GET", "/api/v1/console/safety-checks/99999999999", None),
    ("GET", "/api/v1/people/alerts/99999999999/context", None),
    ("GET", "/api/v1/findings?offset=99999999999999999999", None),
    ("GET", "/api/v1/alerts?offset=9223372036854775808", None),
    ("GET", "/api/v1/findings?rule=a%00b", None),
    ("GET", "/api/v1/console/alerts?q=%00", None),
    ("POST", "/api/v1/assessment/halls/{hall}/sheets/2026Q9/sign-off", None),
    ("POST", "/api/v1/assessment/halls/{hall}/sheets/0000Q1/sign-off", None),
    ("POST", "/api/v1/assessment/halls/{hall}/sheets/soon/sign-off", None),
    ("GET", "/api/v1/assessment/halls/{hall}/sheets/0000Q1/verify", None),
    ("POST", "/api/v1/assessment/halls/{hall}/sheets/2026-13/amend", {"reason": "fix it"}),
    ("POST", "/api/v1/users", {"username": "newbie-x", "password": "password-123", "role": "viewer",
                               "hall_id": "no-such-hall"}),
]


@pytest.mark.parametrize("method,path,body", BAD_INPUT, ids=[f"{m} {p}" for m, p, _ in BAD_INPUT])
def test_bad_input_is_a_clear_4xx(client, db_session, seeded_hall, method, path, body) -> None:
    h = auth_headers(make_user(db_session, "admin"))
    r = client.request(method, path.format(hall=seeded_hall.hall.id), json=body, headers=h)
    assert 400 <= r.status_code < 500, r.text
    assert r.json().get("detail"), r.text


# ----------------------------------------------------------------------------- 13: headers and /metrics

def test_security_headers_on_every_answer(client, db_session) -> None:
    for path in ("/healthz", "/api/v1/auth/me", "/console/"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
        assert r.headers["referrer-policy"] == "same-origin", path


def test_metrics_need_the_token_or_an_allowed_address(app, client) -> None:
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"metrics_allow": ["127.0.0.1"]})
    assert client.get("/metrics").status_code == 403
    app.state.settings = settings.model_copy(update={"metrics_token": "scrape-" + "t" * 30})
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-" + "t" * 30})
    assert ok.status_code == 200 and "hallwatch_ingest_accepted_total" in ok.text
    app.state.settings = settings


# ----------------------------------------------------------------------------- migration 0201

def test_migration_gives_old_evidence_its_hall_and_downgrades(tmp_path) -> None:
    """Files already attached to findings, patrol records and check sheets get their hall; down and up again."""
    from alembic import command
    from sqlalchemy import text

    from server.db.migrate import alembic_config, upgrade
    from server.db.session import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine)

    def run(revision: str, up: bool) -> None:
        with engine.connect() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            (command.upgrade if up else command.downgrade)(cfg, revision)
            conn.commit()

    run("0501_people", up=False)
    shas = [f"{i:064x}" for i in range(1, 4)]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO halls (id, name, timezone, config, created_at) VALUES "
                          "('h1', 'H1', 'Asia/Shanghai', '{}', '2026-01-01'), "
                          "('h2', 'H2', 'Asia/Shanghai', '{}', '2026-01-01')"))
        for sha in shas:
            conn.execute(text("INSERT INTO evidence (sha256, stored, created_at) VALUES (:s, 1, '2026-01-01')"),
                         {"s": sha})
        conn.execute(text("INSERT INTO findings (id, finding_id, hall_id, edge_code, rule, severity, started_at, "
                          "status, details, updated_at, created_at) VALUES (1, 'f1', 'h1', 'e', 'smoking', 'major', "
                          "'2026-01-01', 'open', '{}', '2026-01-01', '2026-01-01')"))
        conn.execute(text("INSERT INTO finding_evidence (finding_id, sha256, added_at) VALUES (1, :s, '2026-01-01')"),
                     {"s": shas[0]})
        conn.execute(text("INSERT INTO duty_checks (id, hall_id, request_id, requested_at, status) VALUES "
                          "(1, 'h2', 'r1', '2026-01-01', 'complete')"))
        conn.execute(text("INSERT INTO duty_check_windows (check_id, window_code, edge_code, state, persons, "
                          "evidence, taken_at) VALUES (1, 'W01', 'e', 'empty', 0, :ev, '2026-01-01')"),
                     {"ev": f'["{shas[1]}"]'})
    run("heads", up=True)
    with engine.connect() as conn:
        got = set(conn.execute(text("SELECT sha256, hall_id FROM evidence_halls")).all())
    assert got == {(shas[0], "h1"), (shas[1], "h2")}
    run("0501_people", up=False)
    run("heads", up=True)
    engine.dispose()
