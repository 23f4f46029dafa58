"""chatting (串岗聊天): rule table on scripted person boxes over a row of three windows, plus the zone config
(``staff`` zones apart from ``public`` ones) and pauses (暂停服务) that must not raise."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.rules.chatting import ChattingRule, VisitSample, classify
from edge.site import ConfigError, SiteConfig, load_site_config
from tests.test_rules_support import MONDAY, TZ, dets, local

SHAPE = (100, 300)  # one camera over windows W01 | W02 | W03, counters at y = 60


def _zones(staff: bool = True, public: bool = True) -> list[dict]:
    zs = []
    for i, w in enumerate(("W01", "W02", "W03")):
        x0, x1 = i / 3, (i + 1) / 3
        zs.append({"id": f"seat-{w}", "kind": "seat", "window": w,
                   "polygon": [[x0 + 0.05, 0.1], [x1 - 0.15, 0.1], [x1 - 0.15, 0.6], [x0 + 0.05, 0.6]]})
        if staff:
            zs.append({"id": f"staff-{w}", "kind": "staff", "window": w,
                       "polygon": [[x0, 0], [x1, 0], [x1, 0.6], [x0, 0.6]]})
        if public:
            zs.append({"id": f"front-{w}", "kind": "public", "window": w,
                       "polygon": [[x0, 0.6], [x1, 0.6], [x1, 1], [x0, 1]]})
    return zs


def hall(staff: bool = True, public: bool = True, **chatting) -> SiteConfig:
    return SiteConfig.model_validate({
        "hall": {"id": "t", "name": "测试"},
        "staff": [{"id": f"s{i}{p}", "name": f"{p}{i}"} for i in (1, 2, 3) for p in "ab"],
        "windows": [{"id": f"W0{i}", "number": i, "name": f"{i}号", "staff_a": f"s{i}a", "staff_b": f"s{i}b"}
                    for i in (1, 2, 3)],
        "cameras": [{"id": "cam", "name": "row", "source": "x.mp4", "zones": _zones(staff, public)}],
        "rules": {"chatting": {"min_s": 300, "gap_s": 20, "cooldown_s": 300, **chatting}},
    })


def seated(w: int) -> tuple:  # the clerk on the seat of window w (1..3)
    x = (w - 1) * 100
    return ("person", (x + 10, 15, x + 40, 58), 0.85)


def standing(w: int) -> tuple:  # someone standing in window w's staff area, beside the seat
    x = (w - 1) * 100
    return ("person", (x + 70, 5, x + 95, 58), 0.8)


def citizen(w: int) -> tuple:  # a citizen at window w's counter front
    x = (w - 1) * 100
    return ("person", (x + 30, 65, x + 60, 99), 0.8)


def run(script, cfg: SiteConfig | None = None, seconds: float = 420, step: float = 2.0, start: str = "10:00:00",
        pauses: dict[str, tuple[float, float]] | None = None) -> list:
    """script(t) -> person boxes of the frame at offset t; returns (kind, offset, window, details) per event."""
    rule = ChattingRule(cfg or hall())
    t0 = local(f"{MONDAY} {start}")
    out = []
    for i in range(round(seconds / step) + 1):
        off = i * step
        for w, (a, b) in (pauses or {}).items():
            rule.set_window_closed(w, a <= off < b)
        when = t0 + dt.timedelta(seconds=off)
        from edge.rules.base import FrameContext

        ctx = FrameContext(camera_id="cam", ts=when.replace(tzinfo=TZ).astimezone(dt.UTC), local=when, shape=SHAPE,
                           detections=dets(*script(off)))
        out += [(e.kind, off, e.window_id, e.staff_id, e.details) for e in rule.update(ctx)]
    return out


ALL = [seated(1), seated(2), seated(3)]


@pytest.mark.parametrize(
    "name, script, kw, expected",
    [
        # (kind, window charged, staff charged, case, attribution) of the opening event
        ("W01's clerk stands in W02's area for 6 min, W01 empty, W02 idle: charged to W01",
         lambda t: [seated(2), seated(3), standing(2)], {}, ("W01", "s1a", "left_window", "left_window")),
        ("W01 empty while W02's clerk serves a citizen: still W01 by elimination",
         lambda t: [seated(2), seated(3), standing(2), citizen(2)], {}, ("W01", "s1a", "left_window", "left_window")),
        ("every window staffed, W02 idle with a visitor: W02's clerk chats at their post",
         lambda t: ALL + [standing(2)], {}, ("W02", "s2a", "idle_pair", "visited_window")),
        ("every window staffed, W02 serving with a visitor: nobody can be placed",
         lambda t: ALL + [standing(2), citizen(2)], {}, (None, None, "visit_while_serving", "unidentified")),
        ("two windows empty: the visitor could come from either, nobody charged",
         lambda t: [seated(2), standing(2), citizen(2)], {}, (None, None, "visit_while_serving", "unidentified")),
        ("no public zones watched, W01 empty: elimination still charges W01",
         lambda t: [seated(2), seated(3), standing(2)], {"public": False}, ("W01", "s1a", "left_window",
                                                                          "left_window")),
    ],
)
def test_chatting_opens_and_attributes(name, script, kw, expected):
    cfg = hall(public=kw.get("public", True))
    out = run(script, cfg)
    opened = [e for e in out if e[0] == "opened"]
    assert len(opened) == 1, name
    _, off, window, staff, details = opened[0]
    assert off == 300.0, name  # min_s after the first visited frame
    assert (window, staff, details["case"], details["attribution"]) == expected, name
    assert details["visited_window"] == "W02"
    if window is None:
        assert details["person"] == "unidentified" and "cannot be identified" in details["note"]


@pytest.mark.parametrize(
    "name, script, kw",
    [
        ("everyone at their own seat", lambda t: ALL + [citizen(2)], {}),
        ("a visitor for 4 min 58 s only", lambda t: ALL + ([standing(2)] if t < 298 else []), {}),
        ("the visited window's clerk alone standing (own window)", lambda t: [seated(1), seated(3), standing(2)], {}),
        ("no public zone and every window staffed: nothing says it is chatting",
         lambda t: ALL + [standing(2)], {"public": False}),
        ("no staff zones: seats only, a person beside a seat is nobody's", lambda t: ALL + [standing(2)],
         {"staff": False}),
        ("lunch break: no duty", lambda t: ALL + [standing(2)], {"start": "12:10:00"}),
        ("visitor seen every other 30 s (longer than gap_s)", lambda t: ALL + ([standing(2)] if (t // 30) % 2 == 0
                                                                               else []), {}),
        ("the visited window W02 is paused (暂停服务)", lambda t: ALL + [standing(2)], {"pauses": {"W02": (0, 1e9)}}),
        ("the left window W01 is paused and W02 serving: W01's clerk is free, no finding on anyone",
         lambda t: [seated(2), seated(3), standing(2), citizen(2)], {"pauses": {"W01": (0, 1e9)}, "expect_unplaced": True}),
    ],
)
def test_chatting_does_not_raise(name, script, kw):
    cfg = hall(staff=kw.get("staff", True), public=kw.get("public", True))
    out = run(script, cfg, start=kw.get("start", "10:00:00"), pauses=kw.get("pauses"))
    charged = [e for e in out if e[0] == "opened" and e[2] is not None]
    assert charged == [], name
    if not kw.get("expect_unplaced"):
        assert out == [], name


def test_dropouts_shorter_than_gap_are_tolerated_and_close_at_last_visit():
    # the visitor is hidden 10 s out of every 60 s, and leaves at 400 s
    out = run(lambda t: [seated(2), seated(3)] + ([standing(2)] if t < 400 and t % 60 < 50 else []), seconds=480)
    kinds = [(e[0], e[1]) for e in out]
    assert kinds[0] == ("opened", 300.0)
    closed = [e for e in out if e[0] == "closed"]
    assert len(closed) == 1 and closed[0][4]["ended_by"] == "visitor_left" and closed[0][2] == "W01"


@pytest.mark.parametrize("cooldown_s, reopened", [(300, [660.0]), (600, [])])
def test_pause_during_a_visit_closes_it_and_a_new_visit_counts_from_the_resumption(cooldown_s, reopened):
    out = run(lambda t: [seated(2), seated(3), standing(2)], hall(cooldown_s=cooldown_s), seconds=700,
              pauses={"W02": (350, 360)})
    assert [(e[0], e[1]) for e in out][:2] == [("opened", 300.0), ("closed", 350.0)]
    assert out[1][4]["ended_by"] == "paused"
    assert [e[1] for e in out[2:] if e[0] == "opened"] == reopened  # min_s from 360 s, and the cooldown


def test_classify_needs_a_majority():
    ts = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    left = VisitSample(ts, 1, frozenset({"W01"}), 0, 0, True)
    serving = VisitSample(ts, 1, frozenset(), 0, 1, True)
    assert classify([left, left, serving]) == ("left_window", "left_window", "W01")
    assert classify([left, serving, serving])[1] == "unidentified"
    unwatched = VisitSample(ts, 1, frozenset({"W01"}), 1, 1, True)
    assert classify([unwatched] * 3)[1] == "unidentified"  # a window nobody watches could be the one left


@pytest.mark.parametrize(
    "zone, error",
    [
        ({"id": "s", "kind": "staff", "polygon": [[0, 0], [0.5, 0], [0.5, 0.5]]}, "a staff zone needs 'window'"),
        ({"id": "s", "kind": "staff", "window": "W01", "polygon": [[0, 0.4], [1, 0.4], [1, 0.9], [0, 0.9]]},
         "overlap"),
    ],
)
def test_staff_zones_are_validated(tmp_path, zone, error):
    path = tmp_path / "hall.yaml"
    path.write_text(
        "hall: {id: t, name: 测试}\n"
        "windows: [{id: W01, number: 1, name: 一号}]\n"
        "cameras:\n"
        "  - id: cam\n"
        "    name: row\n"
        "    source: x.mp4\n"
        "    zones:\n"
        "      - {id: front, kind: public, window: W01, polygon: [[0, 0.6], [1, 0.6], [1, 1], [0, 1]]}\n"
        f"      - {zone!r}\n".replace("'", '"'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        load_site_config(path)
    assert error in str(exc.value)


def test_staff_zone_touching_the_public_one_is_fine():
    cfg = hall()
    assert {z.kind for z in cfg.cameras[0].zones} == {"seat", "staff", "public"}


def test_a_pause_command_reaches_chatting_and_eating_through_the_pause_plan():
    """command.window_pauses from server/people -> PausePlan -> every pausable rule (as the agent applies it)."""
    from edge.agent.commands import PausePlan
    from edge.contract import Command, WindowPauseSpec
    from edge.rules import build_frame_rules, pausable

    cfg = hall()
    rules = pausable(build_frame_rules(cfg))
    t0 = local(f"{MONDAY} 10:00:00").replace(tzinfo=TZ).astimezone(dt.UTC)
    plan = PausePlan()
    plan.replace(Command(hall_id="t", edge_id="e", type="command.window_pauses", pauses=[
        WindowPauseSpec(window_id="W02", start=t0, end=t0 + dt.timedelta(hours=1), reason="系统升级")]))

    def set_closed(window_id: str, closed: bool) -> None:
        for r in rules:
            r.set_window_closed(window_id, closed)

    assert plan.apply(t0, set_closed, {w.id: w.closed for w in cfg.windows}) == [("W02", True)]
    chatting = next(r for r in rules if r.rule_id == "chatting")
    eating = next(r for r in rules if r.rule_id == "eating")
    assert chatting.closed_override == {"W02": True} and eating.closed_override == {"W02": True}
    from edge.rules.base import FrameContext

    events = []
    for i in range(0, 400, 2):
        when = local(f"{MONDAY} 10:00:00") + dt.timedelta(seconds=i)
        ctx = FrameContext(camera_id="cam", ts=when.replace(tzinfo=TZ).astimezone(dt.UTC), local=when, shape=SHAPE,
                           detections=dets(*ALL, standing(2)))
        events += chatting.update(ctx)
    assert events == []


def test_a_window_with_two_staff_zones_is_one_window():
    cfg = hall()
    data = cfg.model_dump()
    data["cameras"][0]["zones"].append({"id": "staff-W02-back", "kind": "staff", "window": "W02",
                                        "polygon": [[0.34, 0.0], [0.66, 0.0], [0.66, 0.05], [0.34, 0.05]]})
    out = run(lambda t: [seated(2), seated(3), standing(2)], SiteConfig.model_validate(data), seconds=320)
    assert [(e[0], e[1]) for e in out] == [("opened", 300.0)]
    assert out[0][4]["samples"] == 151  # one sample per frame, not one per zone
