"""Users bound to a home hall see only that hall's findings and alerts in the core API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.db import Alert
from server.ingest import ingest
from server.siteimport import import_site
from server.testing import auth_headers, make_user, unique_site
from tests.test_ingest_service import opened


@pytest.fixture
def two_halls(db_session):
    a, b = unique_site(), unique_site()
    for cfg in (a, b):
        import_site(db_session, cfg, actor="test")
        assert ingest(db_session, opened(cfg.hall.id)).status == "accepted"
    db_session.commit()
    return a.hall.id, b.hall.id


def test_home_hall_user_sees_only_home_hall(client, db_session, two_halls) -> None:
    home, other = two_halls
    user = make_user(db_session, "supervisor")
    user.hall_id = home
    db_session.commit()
    h = auth_headers(user)
    found = client.get("/api/v1/findings", headers=h).json()
    assert {f["hall_id"] for f in found} == {home}
    assert client.get(f"/api/v1/findings?hall={other}", headers=h).status_code == 403
    alerts = client.get("/api/v1/alerts", headers=h).json()
    assert {a["hall_id"] for a in alerts} == {home}
    other_alert = db_session.scalars(select(Alert.id).where(Alert.hall_id == other)).one()
    assert client.get(f"/api/v1/alerts/{other_alert}", headers=h).status_code == 404
    assert client.post(f"/api/v1/alerts/{other_alert}/confirm", json={"comment": "x"}, headers=h).status_code == 404
    other_finding = client.get(f"/api/v1/findings?hall={other}", headers=auth_headers(make_user(db_session, "viewer")))
    assert other_finding.status_code == 200 and other_finding.json(), "a user without a home hall sees every hall"
    assert client.get(f"/api/v1/findings/{other_finding.json()[0]['id']}", headers=h).status_code == 404
