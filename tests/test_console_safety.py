"""Safety-check evaluation (pure): item judgements, merging edge answers with server facts, schedule, PDF."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.contract import EvidenceRef, SafetyItem
from edge.site import load_site_config
from server.console import report_pdf
from server.console.safety import (
    Reading,
    due_at,
    evaluate,
    expected_items,
    judge_reading,
    outcome,
    pending_auto_check,
    sensor_is_online,
)

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 20, 10, 30, tzinfo=UTC)  # Friday 18:30 in Shanghai


@pytest.fixture(scope="module")
def cfg(demo_config_path):
    return load_site_config(demo_config_path)


def R(sensor, kind, value, age_s=10):
    return Reading(sensor, kind, value, NOW - dt.timedelta(seconds=age_s))


@pytest.mark.parametrize("sensor, readings, passed, detail_has", [
    ("plug-w01-pc", {"power": R("plug-w01-pc", "power", 4.2)}, True, "4.2 W"),
    ("plug-w01-pc", {"power": R("plug-w01-pc", "power", 55.0)}, False, "> 10 W"),
    ("plug-w02-printer", {"power": R("plug-w02-printer", "power", 25.0)}, True, "≤ 30 W"),  # printer standby 30 W
    ("plug-w02-printer", {"power": R("plug-w02-printer", "power", 31.0)}, False, "> 30 W"),
    ("plug-w01-pc", {"state": R("plug-w01-pc", "state", "OFF")}, True, "switched off"),
    ("plug-w01-pc", {"state": R("plug-w01-pc", "state", "ON")}, False, "switched on"),
    ("plug-w01-pc", {}, None, "no power reading"),
    ("lock-exit-east", {"lock": R("lock-exit-east", "lock", "UNLOCK")}, True, "unlocked"),
    ("lock-exit-east", {"lock": R("lock-exit-east", "lock", "LOCK")}, False, "locked"),
    ("lock-exit-east", {"lock": R("lock-exit-east", "lock", "jammed")}, None, "unknown lock state"),
    ("contact-main-door", {"contact": R("contact-main-door", "contact", True)}, True, "closed"),
    ("contact-main-door", {"contact": R("contact-main-door", "contact", False)}, False, "open"),
    ("smoke-hall", {"smoke": R("smoke-hall", "smoke", False)}, True, "normal"),
    ("smoke-hall", {"smoke": R("smoke-hall", "smoke", True)}, False, "SMOKE"),
    ("occupancy-exit-east", {"occupancy": R("occupancy-exit-east", "occupancy", True)}, False, "occupied"),
])
def test_judge_reading(cfg, sensor, readings, passed, detail_has):
    s = next(x for x in cfg.sensors if x.id == sensor)
    got, detail, _ = judge_reading(cfg, s, readings)
    assert got is passed and detail_has in detail


@pytest.mark.parametrize("last_seen_age, reported, passed", [
    (None, None, None), (None, True, True), (30, None, True), (30, False, False),
    (120 + 60 + 1, None, False),  # expected interval 120 s + offline grace 60 s exceeded
])
def test_sensor_online(cfg, last_seen_age, reported, passed):
    s = next(x for x in cfg.sensors if x.id == "plug-w01-pc")
    seen = None if last_seen_age is None else NOW - dt.timedelta(seconds=last_seen_age)
    assert sensor_is_online(cfg, s, seen, reported, NOW)[0] is passed


def test_expected_items_cover_every_configured_thing(cfg):
    keys = {(i.item, i.subject) for i in expected_items(cfg)}
    assert ("power_off", "meter-w07") in keys and ("exit_unlocked", "lock-exit-east") in keys
    assert ("exit_clear", "exit-east") in keys and ("nobody_present", cfg.hall.id) in keys
    assert ("door_closed", "contact-main-door") in keys and ("smoke_normal", "smoke-hall") in keys
    assert {s for i, s in keys if i == "camera_online"} == {c.id for c in cfg.cameras}
    assert {s for i, s in keys if i == "sensor_online"} == {s.id for s in cfg.sensors}


def test_evaluate_merges_edge_answers_and_server_readings(cfg):
    snap = EvidenceRef(sha256="a" * 64, kind="snapshot", content_type="image/jpeg", size=10)
    edge = [
        SafetyItem(item="nobody_present", subject=cfg.hall.id, passed=True, detail="0 persons", evidence=[snap]),
        SafetyItem(item="exit_clear", subject="exit-east", passed=True, detail="zone clear"),
        SafetyItem(item="power_off", subject="plug-w03-pc", passed=False, detail="62 W", value=62.0),
        SafetyItem(item="exit_clear", subject="exit-west", passed=True),  # not in the config: kept
    ]
    readings = {
        "plug-w01-pc": {"power": R("plug-w01-pc", "power", 3.0)},
        "plug-w03-pc": {"power": R("plug-w03-pc", "power", 1.0)},  # the edge's answer wins for its line
        "occupancy-exit-east": {"occupancy": R("occupancy-exit-east", "occupancy", True)},
        "smoke-hall": {"smoke": R("smoke-hall", "smoke", False)},
    }
    sheet = {(i.item, i.subject): i for i in evaluate(cfg, edge, readings, NOW, camera_states={"cam-w01": "ok",
                                                                                            "cam-w02": "offline"})}
    assert sheet[("nobody_present", cfg.hall.id)].passed is True
    assert sheet[("nobody_present", cfg.hall.id)].evidence[0]["sha256"] == "a" * 64
    assert sheet[("power_off", "plug-w03-pc")].passed is False and sheet[("power_off", "plug-w03-pc")].source == "edge"
    assert sheet[("power_off", "plug-w01-pc")].passed is True and sheet[("power_off", "plug-w01-pc")].source == "server"
    exit_line = sheet[("exit_clear", "exit-east")]  # the occupancy sensor overrides the camera's "clear"
    assert exit_line.passed is False and "occupied" in exit_line.detail
    assert ("exit_clear", "exit-west") in sheet
    assert sheet[("camera_online", "cam-w01")].passed is True and sheet[("camera_online", "cam-w02")].passed is False
    assert sheet[("camera_online", "cam-w03")].passed is None
    assert sheet[("smoke_normal", "smoke-hall")].passed is True
    assert outcome(sheet.values()) == "failed"


@pytest.mark.parametrize("states, expected", [
    ([True, True], "passed"), ([True, None], "incomplete"), ([None, False, True], "failed"), ([], "passed"),
])
def test_outcome(states, expected):
    from server.console.safety import CheckedItem
    assert outcome([CheckedItem("x", str(i), "", p) for i, p in enumerate(states)]) == expected


@pytest.mark.parametrize("day, due_local", [
    (dt.date(2026, 11, 20), dt.datetime(2026, 11, 20, 18, 0)),   # Friday: 17:30 + 30 min grace
    (dt.date(2026, 11, 21), None),                               # Saturday
    (dt.date(2026, 10, 1), None),                                # National Day holiday
    (dt.date(2026, 10, 10), dt.datetime(2026, 10, 10, 18, 0)),   # Saturday make-up workday
])
def test_due_at(cfg, day, due_local):
    due = due_at(cfg, day)
    assert (due.replace(tzinfo=None) if due else None) == due_local


@pytest.mark.parametrize("utc_now, done, expected", [
    (dt.datetime(2026, 11, 20, 9, 59, tzinfo=UTC), set(), None),                       # 17:59 local: not yet
    (dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC), set(), dt.date(2026, 11, 20)),      # 18:00 local: due
    (dt.datetime(2026, 11, 20, 15, 59, tzinfo=UTC), set(), dt.date(2026, 11, 20)),     # 23:59 local: still today
    (dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC), {dt.date(2026, 11, 20)}, None),     # already ran
    (dt.datetime(2026, 11, 20, 16, 1, tzinfo=UTC), set(), None),                       # 00:01 Saturday
    (dt.datetime(2026, 10, 1, 12, 0, tzinfo=UTC), set(), None),                        # holiday
])
def test_pending_auto_check(cfg, utc_now, done, expected):
    assert pending_auto_check(cfg, utc_now, done) == expected


def test_safety_pdf_renders_every_item_with_cjk_font(cfg):
    items = [i.as_dict() for i in evaluate(cfg, [], {"smoke-hall": {"smoke": R("smoke-hall", "smoke", True)}}, NOW)]
    pdf = report_pdf.safety_check_pdf({"id": 7, "items": items, "outcome": "failed", "trigger": "auto",
                                       "started_at": NOW.isoformat(), "signed_by": "值班员 王", "signed_at": "x"},
                                      cfg.hall.name)
    assert pdf.startswith(b"%PDF") and b"STSong-Light" in pdf and pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 3000


def test_duty_pdf_embeds_the_window_pictures(cfg, media_dir):
    pics = [p.read_bytes() for p in sorted((media_dir / "images").glob("*/*.jpg"))[:3]]
    assert len(pics) == 3
    windows = [{"window_id": w.id, "number": w.number, "name": w.name, "state": "staffed", "snapshot_sha256": str(i)}
               for i, w in enumerate(cfg.windows[:3])]
    without = report_pdf.duty_check_pdf({"id": 1, "windows": windows}, cfg.hall.name)
    with_pics = report_pdf.duty_check_pdf({"id": 1, "windows": windows}, cfg.hall.name,
                                          picture=lambda sha: pics[int(sha)])
    assert with_pics.count(b"/Subtype /Image") == 3 and without.count(b"/Subtype /Image") == 0
    assert len(with_pics) < 500_000 < sum(len(p) for p in pics)  # pictures are shrunk to print size
    broken = report_pdf.duty_check_pdf({"id": 1, "windows": windows}, cfg.hall.name, picture=lambda sha: b"junk")
    assert broken.startswith(b"%PDF")  # an unreadable picture never breaks the report
