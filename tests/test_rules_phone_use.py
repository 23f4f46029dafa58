"""phone_use: sliding-window ratio, minimum span, cooldown, crop-pass detections, schedule."""

from __future__ import annotations

import pytest

from edge.rules.phone_use import PhoneUseRule
from tests.test_rules_support import MONDAY, P_W01, P_W02, TZ, dets, simulate, site

PHONE = ("cell phone", (45, 50, 55, 60), 0.5)  # in the clerk's hands (W01)
PHONE_W02 = ("cell phone", (145, 50, 155, 60), 0.5)
CITIZEN_PHONE = ("cell phone", (85, 5, 95, 12), 0.6)  # in the W01 zone but away from the clerk
WEAK_PHONE = ("cell phone", (45, 50, 55, 60), 0.3)
PHONE_AT_EAR = ("cell phone", (60, 22, 68, 36), 0.6)  # centre at 0.14 of the clerk's box height: a call


def run(phone_at, seconds=40, start="10:00:00", clerk=(P_W01,), phone=PHONE, small=False, **rules):
    """phone_at(t) -> bool; 2 frames per second."""
    rule = PhoneUseRule(site(**rules))

    def script(t):
        items = list(clerk) + ([phone] if phone_at(t) and not small else [])
        return {"camA": dets(*items)}

    crops = (lambda t, cam: dets(phone) if phone_at(t) else dets()) if small else None
    events = simulate(rule, f"{MONDAY} {start}", seconds, 0.5, script, small=crops)
    return [(e.kind, off, e.at.astimezone(TZ).strftime("%H:%M:%S.%f")[:10], e.window_id) for off, e in events]


@pytest.mark.parametrize(
    "name, phone_at, kw, expected",
    [
        ("10 s of phone opens exactly at min_s", lambda t: t >= 5, {}, [("opened", 15.0, "10:00:05.0", "W01")]),
        ("9.5 s is not enough", lambda t: 5 <= t < 14.5, {}, []),
        ("every other frame (50 % < 60 %) never opens", lambda t: int(t * 2) % 2 == 0, {}, []),
        ("two frames in three opens", lambda t: int(t * 2) % 3 != 2, {}, "opened"),
        ("phone but no clerk in the seat", lambda t: True, {"clerk": ()}, []),
        ("a citizen's phone away from the clerk", lambda t: True, {"phone": CITIZEN_PHONE}, []),
        ("below min_confidence", lambda t: True, {"phone": WEAK_PHONE}, []),
        ("phone held to the ear", lambda t: True, {"phone": PHONE_AT_EAR}, []),
        ("found only by the per-person crop pass", lambda t: t >= 5, {"small": True},
         [("opened", 15.0, "10:00:05.0", "W01")]),
        ("lunch: W01 has no duty", lambda t: True, {"start": "12:10:00"}, []),
        ("lunch: the midday-duty window W02 is watched", lambda t: t >= 5,
         {"start": "12:10:00", "clerk": (P_W02,), "phone": PHONE_W02}, [("opened", 15.0, "12:10:05.0", "W02")]),
    ],
)
def test_phone_use_opening(name, phone_at, kw, expected):
    out = run(phone_at, **kw)
    if expected == "opened":
        assert [k for k, *_ in out] == ["opened"], name
    else:
        assert out == expected, name


def test_closes_at_last_positive_when_the_phone_is_put_away():
    out = run(lambda t: 5 <= t < 30, seconds=60)
    assert out[0][:3] == ("opened", 15.0, "10:00:05.0")
    kind, emitted, at, _ = out[1]
    assert (kind, at) == ("closed", "10:00:29.5") and emitted > 30


@pytest.mark.parametrize("cooldown_s, n_findings", [(300, 1), (0, 2)])
def test_cooldown_between_findings(cooldown_s, n_findings):
    out = run(lambda t: 5 <= t < 30 or 60 <= t < 90, seconds=120, phone_use={"cooldown_s": cooldown_s})
    assert [k for k, *_ in out].count("opened") == n_findings


def test_closing_time_closes_an_open_finding():
    out = run(lambda t: True, seconds=30, start="17:29:40")
    assert [(k, at) for k, _, at, _ in out] == [("opened", "17:29:40.0"), ("closed", "17:30:00.0")]
