"""User administration from the console: hall binding through the core's user API (checked hall, audited) and
the audit trail of user accounts (admins only, scoped to the admin's hall)."""

from __future__ import annotations

from tests.test_console_helpers import console  # noqa: F401  (fixture)


def _create(console, name: str, hall: str | None, role: str = "inspector", as_role: str = "admin",
            headers: dict | None = None):
    return console.client.post("/api/v1/users", json={"username": name, "password": "initial-pw-1", "role": role,
                                                      "display_name": "新用户", "hall_id": hall},
                               headers=headers or console.auth(as_role))


def _global_admin(console) -> dict[str, str]:
    """A logged-in admin bound to no hall (the fixture's admin is bound to the hall)."""
    import uuid

    from server.db.session import unit_of_work
    from server.users import create_user

    name = f"root-{uuid.uuid4().hex[:8]}"
    with unit_of_work(console.app.state.sessionmaker) as s:
        create_user(s, username=name, password="root-password-1", role="admin", actor="test", hall_id=None,
                    display_name="Admin 总")
    r = console.client.post("/api/v1/auth/login", json={"username": name, "password": "root-password-1"})
    assert r.status_code == 200, r.text
    console.client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_hall_binding_is_checked_changed_and_audited(console):
    name = f"duty-{console.hall_id}"
    root = _global_admin(console)
    assert _create(console, name, "no-such-hall", headers=root).status_code == 422
    assert _create(console, name, "no-such-hall").status_code == 403  # a hall-bound admin: its own hall only
    assert _create(console, name, console.hall_id, as_role="supervisor").status_code == 403
    r = _create(console, name, console.hall_id)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    patch = lambda body: console.client.patch(f"/api/v1/users/{uid}", json=body,
                                              headers=console.auth("admin"))
    root_patch = lambda body: console.client.patch(f"/api/v1/users/{uid}", json=body, headers=root)
    assert patch({"hall_id": None}).status_code == 403                              # not by a hall-bound admin
    assert root_patch({"hall_id": "no-such-hall"}).status_code == 422
    assert patch({"role": "supervisor"}).json()["hall_id"] == console.hall_id      # hall untouched when absent
    assert root_patch({"hall_id": None}).json()["hall_id"] is None                  # explicit null: all halls
    assert root_patch({"hall_id": console.hall_id, "active": False}).json()["active"] is False
    login = console.client.post("/api/v1/auth/login", json={"username": name, "password": "initial-pw-1"})
    assert login.status_code == 401
    assert patch({"active": True, "password": "reset-pw-123"}).status_code == 200
    login = console.client.post("/api/v1/auth/login", json={"username": name, "password": "reset-pw-123"})
    assert login.status_code == 200
    trail = console.get("/api/v1/console/users/audit", "admin", params={"user_id": uid}).json()
    assert [e["action"] for e in trail] == ["user.update"] * 4 + ["user.create"]
    assert trail[0]["after"]["password_changed"] is True and trail[0]["after"]["active"] is True
    hall_moves = [(e["before"]["hall_id"], e["after"]["hall_id"]) for e in trail if e["action"] == "user.update"]
    assert (console.hall_id, None) in hall_moves and (None, console.hall_id) in hall_moves
    assert trail[-1]["actor"] == "Admin 张" and trail[-1]["user"] == "新用户"


def test_audit_trail_is_for_admins_and_scoped_to_their_hall(console):
    assert console.get("/api/v1/console/users/audit", "supervisor").status_code == 403
    other = _create(console, f"far-{console.hall_id}", None, headers=_global_admin(console)).json()["id"]
    mine = _create(console, f"near-{console.hall_id}", console.hall_id).json()["id"]
    seen = {e["user_id"] for e in console.get("/api/v1/console/users/audit", "admin",
                                              params={"limit": 1000}).json()}
    assert mine in seen and other not in seen          # the fixture's admin is bound to the hall


def test_audit_trail_lists_logins_only_when_asked(console):
    uid = _create(console, f"log-{console.hall_id}", console.hall_id).json()["id"]
    assert console.client.post("/api/v1/auth/login", json={"username": f"log-{console.hall_id}",
                                                           "password": "initial-pw-1"}).status_code == 200
    url = "/api/v1/console/users/audit"
    assert [e["action"] for e in console.get(url, "admin", params={"user_id": uid}).json()] == ["user.create"]
    assert [e["action"] for e in console.get(url, "admin", params={"user_id": uid, "logins": True}).json()] == \
        ["auth.login", "user.create"]
