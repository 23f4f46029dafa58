"""The typed site config: the demo hall validates, errors point at YAML lines, the calendar is right."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from edge import site
from edge.cli import main as cli_main


def test_demo_hall_is_complete(demo_config_path: Path) -> None:
    cfg = site.load_site_config(demo_config_path)
    assert len(cfg.windows) >= 6
    assert len(cfg.cameras) >= 3 and len(cfg.sensors) >= 5
    assert all(w.staff_a for w in cfg.windows), "every window has an A post"
    assert {z.window for _, z in cfg.seat_zones()} <= {w.id for w in cfg.windows}
    assert {s.adapter for s in cfg.sensors} == {"zigbee2mqtt", "tasmota", "shelly", "esphome", "generic"}


@pytest.mark.parametrize(
    "yaml_text, line, loc, fragment",
    [
        ("hall: {id: zh, name: x}\nwindows:\n  - {id: W1, number: 0, name: a}\n", 3, "windows.0.number", "greater"),
        ("hall: {id: zh, name: x}\nwindows:\n  - {id: W1, number: 1, name: a, colour: red}\n", 3, "windows.0.colour",
         "Extra inputs"),
        ("hall: {id: zh, name: x, timezone: Mars/Olympus}\nwindows: [{id: W1, number: 1, name: a}]\n", 1,
         "hall.timezone", "unknown IANA"),
        ("hall: {id: zh, name: x}\nschedule:\n  sessions: ['12:00-08:30']\nwindows: [{id: W1, number: 1, name: a}]\n",
         3, "schedule.sessions.0", "after start"),
        ("hall: {id: zh, name: x}\nwindows: [{id: W1, number: 1, name: a}]\ncameras:\n  - id: c1\n    name: c\n"
         "    source: x.mp4\n    zones:\n      - {id: z, kind: seat, polygon: [[0,0],[1,0],[1,1]]}\n", 8,
         "cameras.0.zones.0", "needs 'window'"),
        ("hall: {id: zh, name: x}\nwindows: [{id: W1, number: 1, name: a}]\ncameras:\n  - id: c1\n    name: c\n"
         "    source: x.mp4\n    zones:\n      - {id: z, kind: public, polygon: [[0,0],[1.5,0],[1,1]]}\n", 8,
         "cameras.0.zones.0.polygon.1.0", "less than or equal"),
        ("hall: {id: zh, name: x}\nwindows: [{id: W1, number: 1, name: a, staff_a: S9}]\n", None, "", "not in staff"),
        ("hall: {id: zh, name: x\nwindows: []\n", 2, "", "YAML syntax error"),
    ],
)
def test_errors_point_at_yaml_lines(tmp_path: Path, yaml_text: str, line: int | None, loc: str, fragment: str) -> None:
    p = tmp_path / "hall.yaml"
    p.write_text(yaml_text)
    with pytest.raises(site.ConfigError) as err:
        site.load_site_config(p)
    problems = err.value.problems
    assert any(fragment in msg and (line is None or ln == line) and l.startswith(loc) for l, ln, msg in problems), problems


def test_validate_command_exit_codes(tmp_path: Path, demo_config_path: Path, capsys) -> None:
    assert cli_main(["config", "validate", str(demo_config_path)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("hall: {id: zh, name: x}\nwindows:\n  - {id: W1, number: -3, name: a}\n")
    assert cli_main(["config", "validate", str(bad)]) == 1
    assert f"{bad}:3: windows.0.number" in capsys.readouterr().err


def test_schema_export_is_current(tmp_path: Path) -> None:
    """configs/schema/ must match the models (run `make schemas` after changing them)."""
    assert cli_main(["config", "schema", "--out", str(tmp_path)]) == 0
    repo = Path(__file__).resolve().parent.parent / "configs" / "schema"
    for f in tmp_path.iterdir():
        assert json.loads(f.read_text()) == json.loads((repo / f.name).read_text()), f"{f.name} is stale"


SCHED = site.ScheduleConfig.model_validate(
    {"sessions": ["08:30-12:00", "13:00-17:30"], "midday_duty": "12:00-13:00",
     "holidays": ["2026-10-01"], "makeup_workdays": ["2026-10-10"], "closing_grace_min": 30}
)
DUTY = site.WindowConfig(id="W3", number=3, name="劳动保障", midday_duty=True)
PLAIN = site.WindowConfig(id="W1", number=1, name="农林水")
CLOSED = site.WindowConfig(id="W8", number=8, name="计生", closed=True)


@pytest.mark.parametrize(
    "when, phase, after_hours, duty_plain, duty_desk",
    [
        ("2026-11-23 08:29:59", "before_opening", True, False, False),  # Monday
        ("2026-11-23 08:30:00", "service", False, True, True),
        ("2026-11-23 11:59:59", "service", False, True, True),
        ("2026-11-23 12:00:00", "lunch", False, False, True),
        ("2026-11-23 12:59:59", "lunch", False, False, True),
        ("2026-11-23 13:00:00", "service", False, True, True),
        ("2026-11-23 17:29:59", "service", False, True, True),
        ("2026-11-23 17:30:00", "after_closing", False, False, False),
        ("2026-11-23 17:59:59", "after_closing", False, False, False),
        ("2026-11-23 18:00:00", "after_closing", True, False, False),
        ("2026-11-22 10:00:00", "closed_day", True, False, False),  # Sunday
        ("2026-10-01 10:00:00", "closed_day", True, False, False),  # National Day holiday (Thursday)
        ("2026-10-10 10:00:00", "service", False, True, True),  # make-up Saturday
    ],
)
def test_schedule_phases(when: str, phase: str, after_hours: bool, duty_plain: bool, duty_desk: bool) -> None:
    t = dt.datetime.fromisoformat(when)
    assert SCHED.phase(t) == phase
    assert SCHED.after_hours(t) is after_hours
    assert SCHED.duty_required(t, PLAIN) is duty_plain
    assert SCHED.duty_required(t, DUTY) is duty_desk
    assert SCHED.duty_required(t, CLOSED) is False


def test_local_time_conversion() -> None:
    cfg = site.SiteConfig.model_validate({"hall": {"id": "h", "name": "h"}, "windows": [{"id": "W1", "number": 1, "name": "a"}]})
    utc = dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.timezone.utc)
    assert cfg.local(utc) == dt.datetime(2026, 11, 23, 8, 30)
    with pytest.raises(ValueError):
        cfg.local(dt.datetime(2026, 11, 23, 0, 30))


def test_env_expansion() -> None:
    assert site.expand_env("${A}/x/${B:-dflt}/${C}", {"A": "/m"}) == "/m/x/dflt/${C}"


def test_env_overrides_for_deployments(demo_config_path: Path) -> None:
    cfg = site.load_site_config(demo_config_path)
    assert site.apply_env_overrides(cfg, {}) is cfg
    over = site.apply_env_overrides(cfg, {"HALLWATCH_MQTT_HOST": "mosquitto", "HALLWATCH_MQTT_PORT": "1884",
                                          "HALLWATCH_SERVER_URL": "http://server:8000",
                                          "HALLWATCH_MQTT_USERNAME": "zhegou/zhegou-edge-1",
                                          "HALLWATCH_MQTT_PASSWORD_ENV": "HALLWATCH_EDGE_TOKEN"})
    assert (over.mqtt.host, over.mqtt.port, over.edge.server_url) == ("mosquitto", 1884, "http://server:8000")
    assert (over.mqtt.username, over.mqtt.password_env) == ("zhegou/zhegou-edge-1", "HALLWATCH_EDGE_TOKEN")
    assert over.windows == cfg.windows
    with pytest.raises(site.ConfigError, match="HALLWATCH_MQTT_PORT"):
        site.apply_env_overrides(cfg, {"HALLWATCH_MQTT_PORT": "eighteen"})
    with pytest.raises(site.ConfigError, match="mqtt.port"):
        site.apply_env_overrides(cfg, {"HALLWATCH_MQTT_PORT": "70000"})
