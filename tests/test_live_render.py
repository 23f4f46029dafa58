"""The console's view of an alert is built once, in the transaction that commits it, and travels with the live
event: no console stream (in this process or another) reads the database for it. A renderer that fails costs
nothing but that shortcut."""

from __future__ import annotations

import datetime as dt

import pytest

from server import events
from server.console import api_alerts
from server.console.views import alert_view
from server.db import Alert
from tests.test_console_helpers import console  # noqa: F401


@pytest.fixture
def captured(monkeypatch):
    sent: list[dict] = []
    monkeypatch.setattr(events.broadcaster, "relays", [*events.broadcaster.relays, sent.append])
    return sent


def _no_database(*_a, **_k):
    raise AssertionError("the console stream read the database for an event rendered at commit")


def test_an_alert_event_carries_the_view_its_commit_made(console, captured):
    msg = console.open_finding(rule="window_unstaffed", window="W01")
    opened = [e for e in captured if e.get("type") == "alert.opened" and e.get("hall_id") == console.hall_id]
    assert len(opened) == 1, captured
    name, view = opened[0]["console"]
    assert name == "alert"
    with console.app.state.sessionmaker() as s:
        fresh = alert_view(s, s.get(Alert, opened[0]["alert_id"]))
    assert view == fresh
    assert view["rule"] == msg.rule and view["window_id"] == "W01" and view["status"] == "open"
    # what a console stream makes of it, with no database behind it; another hall's console sees nothing
    assert api_alerts._console_event(_no_database, console.hall_id, opened[0]) == ("alert", view)
    assert api_alerts._console_event(_no_database, "another-hall", opened[0]) is None
    assert not api_alerts._reads_database(opened[0])

    alert_id = opened[0]["alert_id"]
    r = console.post(f"/api/v1/console/alerts/{alert_id}/acknowledge", "supervisor", json={"comment": "on it"})
    assert r.status_code == 200, r.text
    (updated,) = [e for e in captured if e.get("type", "").startswith("alert.") and e.get("alert_id") == alert_id
                  and e is not opened[0]]
    name, view = updated["console"]
    assert name == "alert.updated" and view["status"] == r.json()["status"] != "open"


def test_events_relayed_from_elsewhere_without_a_view_are_still_looked_up(console, captured):
    console.open_finding(rule="window_unstaffed", window="W02")
    (opened,) = [e for e in captured if e.get("type") == "alert.opened"]
    bare = {k: v for k, v in opened.items() if k != "console"}  # e.g. from a server of an older release
    assert api_alerts._reads_database(bare)
    mapped = api_alerts._console_event(console.app.state.sessionmaker, None, bare)
    assert mapped == tuple(opened["console"])


def test_a_failing_renderer_loses_no_event_and_no_row(console, captured, monkeypatch):
    def broken(session, pending):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(events.broadcaster, "renderers", [broken, *events.broadcaster.renderers])
    console.open_finding(rule="window_unstaffed", window="W03", started_at=dt.datetime.now(dt.timezone.utc))
    opened = [e for e in captured if e.get("type") == "alert.opened"]
    assert len(opened) == 1  # the commit went on, the event went out
    assert opened[0]["console"][1]["window_id"] == "W03"  # the next renderer still ran
    rows = console.get("/api/v1/console/alerts", params={"hall_id": console.hall_id}).json()
    assert [a["window_id"] for a in rows] == ["W03"]


def test_rendering_happens_once_per_commit_not_per_savepoint(console, monkeypatch):
    calls: list[int] = []
    real = api_alerts.render_console_events

    def counting(session, pending):
        calls.append(len(pending))
        real(session, pending)

    monkeypatch.setattr(events.broadcaster, "renderers", [counting])
    console.open_finding(rule="window_unstaffed", window="W01")
    assert calls and all(n >= 1 for n in calls)
    assert len(calls) == 1, calls
