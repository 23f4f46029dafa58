"""After an edge restart, the findings the previous run left open are closed (interrupted) instead of staying
open on the server forever; findings that were closed normally are not touched."""

from __future__ import annotations

import datetime as dt
import uuid

from edge.agent.findings import FindingDispatcher
from edge.agent.open_findings import OpenFindings
from edge.rules.base import RuleEvent
from edge.site import load_site_config
from tests.test_agent_units import Sink

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)


def t(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


def test_restart_closes_what_the_previous_run_left_open(demo_config_path, tmp_path) -> None:
    cfg = load_site_config(demo_config_path)
    path = tmp_path / "open.sqlite3"
    first = FindingDispatcher(cfg, Sink(), None, lambda cam: None, OpenFindings(path))
    left_open, done = uuid.uuid4(), uuid.uuid4()
    first.handle(RuleEvent("opened", "window_unstaffed", left_open, t(0), window_id="W05", camera_id="cam-w01",
                           evidence=False))
    first.handle(RuleEvent("opened", "power_left_on", done, t(10), sensor_id="plug-w01-pc", evidence=False))
    first.handle(RuleEvent("closed", "power_left_on", done, t(70), sensor_id="plug-w01-pc", started_at=t(10)))
    first.registry.alive(t(1800))  # the last heartbeat before the process died
    first.registry.close()

    sink = Sink()
    second = FindingDispatcher(cfg, sink, None, lambda cam: None, OpenFindings(path))
    assert second.close_interrupted() == 1
    (msg,) = sink.msgs
    assert msg.type == "finding.closed" and msg.finding_id == left_open and msg.rule == "window_unstaffed"
    assert msg.ended_at == t(1800) and msg.duration_s == 1800.0 and "interrupted" in msg.details
    assert second.close_interrupted() == 0, "closed once only"


def test_an_episode_opened_after_the_last_heartbeat_ends_where_it_began(tmp_path) -> None:
    reg = OpenFindings(tmp_path / "o.sqlite3")
    reg.alive(t(100))
    fid = uuid.uuid4()
    reg.opened(fid, "phone_use", t(120))
    (gone,) = reg.take_interrupted()
    assert gone.finding_id == fid and gone.ended_at == gone.started_at == t(120)
