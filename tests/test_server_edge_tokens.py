"""Edge tokens provisioned from deployment secrets: given tokens work, re-provisioning is a no-op, bad input fails."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from server.db import AuditLog
from server.edges import EdgeError, issue_edge_token
from server.settings import Settings

TOKEN = "provisioned-secret-token-0123456789"


def test_given_token_authenticates_evidence_upload(client, db_session, seeded_hall) -> None:
    hall = seeded_hall.hall.id
    issue_edge_token(db_session, hall, "edge-p", actor="test", token=TOKEN)
    db_session.commit()
    body = b"\xff\xd8\xff\xe0 evidence bytes"
    sha = hashlib.sha256(body).hexdigest()
    r = client.put(f"/api/v1/evidence/{sha}", content=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code in (200, 201), r.text
    bad = client.put(f"/api/v1/evidence/{sha}", content=body, headers={"Authorization": "Bearer wrong-token-xxxxxxxx"})
    assert bad.status_code == 401


def test_reprovisioning_the_same_token_changes_nothing(db_session, seeded_hall) -> None:
    hall = seeded_hall.hall.id
    count = lambda: db_session.scalar(select(func.count()).select_from(AuditLog).where(  # noqa: E731
        AuditLog.entity_type == "edge", AuditLog.action.like("edge.token%")))
    issue_edge_token(db_session, hall, "edge-q", actor="test", token=TOKEN)
    before = count()
    edge, token = issue_edge_token(db_session, hall, "edge-q", actor="test", token=TOKEN)
    assert token == TOKEN and count() == before
    _, rotated = issue_edge_token(db_session, hall, "edge-q", actor="test")
    assert rotated != TOKEN and count() == before + 1


def test_short_token_and_unknown_hall_are_refused(db_session, seeded_hall) -> None:
    with pytest.raises(EdgeError, match="16 characters"):
        issue_edge_token(db_session, seeded_hall.hall.id, "e", actor="test", token="short")
    with pytest.raises(EdgeError, match="unknown hall"):
        issue_edge_token(db_session, "no-such-hall", "e", actor="test", token=TOKEN)


@pytest.mark.parametrize("value, parsed", [
    ("", []),
    ("zhegou/edge-1=abc", [("zhegou", "edge-1", "abc")]),
    ("a/b=x=y, c/d=z", [("a", "b", "x=y"), ("c", "d", "z")]),
])
def test_edge_tokens_setting(value: str, parsed: list) -> None:
    assert Settings(edge_tokens=value).provisioned_edge_tokens == parsed


@pytest.mark.parametrize("value", ["zhegou=abc", "zhegou/edge", "/e=t", "h/=t"])
def test_malformed_edge_tokens_setting_is_an_error(value: str) -> None:
    with pytest.raises(ValueError, match="hall/edge=token"):
        Settings(edge_tokens=value).provisioned_edge_tokens
