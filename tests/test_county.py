"""County view: regions from YAML, a county user sees exactly its region's halls (and no other route), the
roll-up board counts what each hall shows, rankings by deductions, drill-down."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import update

from edge import contract as c
from edge.yamlconfig import ConfigError
from server.county import service
from server.county.models import UserRegion
from server.db import Camera, Sensor, Window
from server.ingest import ingest
from server.siteimport import import_site
from server.testing import *  # noqa: F401,F403 - fixtures
from server.testing import auth_headers, make_user, unique_site


@pytest.fixture
def county(db_session, tmp_path):
    """A city with two counties; county A has a township hall and its own centre, county B one hall."""
    halls = {k: unique_site() for k in ("a_town", "a_centre", "b_town")}
    for cfg in halls.values():
        import_site(db_session, cfg, actor="test")
    tag = uuid.uuid4().hex[:6]
    yaml = tmp_path / "regions.yaml"
    yaml.write_text(f"""version: 1
regions:
  - id: city-{tag}
    name: 临沂市
    kind: city
    children:
      - id: a-{tag}
        name: 兰陵县
        kind: county
        halls: [{halls['a_centre'].hall.id}]
        children:
          - {{id: a-town-{tag}, name: 柘沟镇, kind: township, halls: [{halls['a_town'].hall.id}]}}
      - id: b-{tag}
        name: 郯城县
        kind: county
        halls: [{halls['b_town'].hall.id}]
""")
    assert service.import_regions(db_session, service.load_regions(yaml)) == {"regions": 4, "halls": 3}
    db_session.commit()
    ids = {k: v.hall.id for k, v in halls.items()}
    return tag, ids


def county_user(db_session, region: str):
    user = make_user(db_session, "county")
    db_session.add(UserRegion(user_id=user.id, region_id=region))
    db_session.commit()
    return user


def test_regions_file_errors_name_the_line(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("version: 1\nregions:\n  - id: x\n    name: 县\n    kind: galaxy\n")
    with pytest.raises(ConfigError, match=r"r\.yaml:5: regions\.0\.kind"):
        service.load_regions(bad)


@pytest.mark.parametrize("region,expect", [("a", {"a_town", "a_centre"}), ("a-town", {"a_town"}),
                                           ("b", {"b_town"}), ("city", {"a_town", "a_centre", "b_town"})])
def test_county_user_sees_its_subtree(client, db_session, county, region, expect):
    tag, ids = county
    user = county_user(db_session, f"{region}-{tag}")
    board = client.get("/api/v1/county/board", headers=auth_headers(user)).json()
    assert {r["hall_id"] for r in board["halls"]} == {ids[k] for k in expect}
    outside = next(k for k in ids if k not in expect) if len(expect) < 3 else None
    if outside:
        assert client.get(f"/api/v1/county/halls/{ids[outside]}", headers=auth_headers(user)).status_code == 404
    inside = sorted(expect)[0]
    assert client.get(f"/api/v1/county/halls/{ids[inside]}", headers=auth_headers(user)).status_code == 200


def test_county_role_reaches_no_hall_route(client, db_session, county):
    tag, ids = county
    user = county_user(db_session, f"city-{tag}")
    for path in ("/api/v1/alerts", f"/api/v1/halls/{ids['a_town']}/windows", "/api/v1/console/alerts"):
        assert client.get(path, headers=auth_headers(user)).status_code in (403, 404), path


def test_board_counts_and_drill_down(client, db_session, county):
    tag, ids = county
    hall = ids["a_town"]
    msg = c.FindingOpened(hall_id=hall, edge_id="zhegou-edge-1", finding_id=uuid.uuid4(), rule="window_unstaffed",
                          severity="major", window_id="W01", started_at=dt.datetime.now(dt.timezone.utc))
    assert ingest(db_session, c.encode(msg)).status == "accepted"
    db_session.execute(update(Window).where(Window.hall_id == hall, Window.code.in_(["W01", "W02"]))
                       .values(live_state="staffed"))
    db_session.execute(update(Sensor).where(Sensor.hall_id == hall, Sensor.code == "plug-w01-pc").values(online=False))
    db_session.execute(update(Camera).where(Camera.hall_id == hall, Camera.code == "cam-w01").values(health="covered"))
    db_session.commit()
    user = county_user(db_session, f"a-{tag}")
    board = client.get("/api/v1/county/board", headers=auth_headers(user)).json()
    row = next(r for r in board["halls"] if r["hall_id"] == hall)
    assert (row["open_alerts"], row["staffed_windows"], row["sensors_offline"], row["cameras_offline"]) == (1, 2, 1, 1)
    assert row["region"] == ["临沂市", "兰陵县", "柘沟镇"] and row["safety_check"] is None
    assert board["totals"]["halls"] == 2 and board["totals"]["open_alerts"] >= 1
    one = client.get(f"/api/v1/county/halls/{hall}", headers=auth_headers(user)).json()
    assert [a["rule"] for a in one["alerts"]] == ["window_unstaffed"]
    assert {(d["kind"], d["id"]) for d in one["devices"]} >= {("sensor", "plug-w01-pc"), ("camera", "cam-w01")}
    tree = client.get("/api/v1/county/tree", headers=auth_headers(user)).json()
    assert tree[0]["name"] == "临沂市" and tree[0]["children"][0]["name"] == "兰陵县"


def test_ranking_by_deductions(client, db_session, county):
    tag, ids = county
    user = county_user(db_session, f"city-{tag}")
    r = client.get("/api/v1/county/ranking", headers=auth_headers(user))
    assert r.status_code == 200, r.text
    body = r.json()
    assert {h["hall_id"] for h in body["halls"]} == set(ids.values())
    assert [h["rank"] for h in body["halls"]] == [1, 2, 3]
    assert all(a["deductions"] >= b["deductions"] for a, b in zip(body["halls"], body["halls"][1:]))
    assert client.get("/api/v1/county/ranking?period=2026-13x", headers=auth_headers(user)).status_code == 422


def test_hall_bound_user_sees_only_its_hall(client, db_session, county):
    _, ids = county
    viewer = make_user(db_session, "viewer")
    viewer.hall_id = ids["b_town"]
    db_session.commit()
    board = client.get("/api/v1/county/board", headers=auth_headers(viewer)).json()
    assert [r["hall_id"] for r in board["halls"]] == [ids["b_town"]]
