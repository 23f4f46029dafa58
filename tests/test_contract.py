"""The edge↔server contract: round trips, topics, and every rejection reason."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from edge import contract as c

NOW = dt.datetime(2026, 11, 23, 1, 2, 3, tzinfo=dt.timezone.utc)
SHA = "a" * 64


def opened(**kw) -> c.FindingOpened:
    base = dict(hall_id="zhegou", edge_id="e1", finding_id=uuid.uuid4(), rule="window_unstaffed",
                severity="warning", started_at=NOW, window_id="W01",
                evidence=[c.EvidenceRef(sha256=SHA, kind="snapshot", content_type="image/jpeg", size=10)])
    base.update(kw)
    return c.FindingOpened(**base)


@pytest.mark.parametrize(
    "msg",
    [
        opened(),
        c.FindingUpdated(hall_id="h", edge_id="e", finding_id=uuid.uuid4(), rule="phone_use", at=NOW),
        c.FindingClosed(hall_id="h", edge_id="e", finding_id=uuid.uuid4(), rule="window_unstaffed", ended_at=NOW,
                        duration_s=1800.0),
        c.WindowState(hall_id="h", edge_id="e", window_id="W01", state="empty", since=NOW),
        c.SensorReading(hall_id="h", edge_id="e", sensor_id="plug", kind="power", value=12.5, unit="W", at=NOW),
        c.EdgeStatus(hall_id="h", edge_id="e", online=False),
        c.Heartbeat(hall_id="h", edge_id="e", cameras=[c.CameraHealth(camera_id="c", state="ok", fps=2, lag_s=0.1)]),
        c.DutyCheckResult(hall_id="h", edge_id="e", request_id=uuid.uuid4(), taken_at=NOW,
                          windows=[c.WindowSnapshot(window_id="W01", state="staffed", persons=1)]),
        c.SafetyCheckResult(hall_id="h", edge_id="e", request_id=uuid.uuid4(), taken_at=NOW,
                            items=[c.SafetyItem(item="power_off", subject="plug", passed=False, value=85.0)]),
    ],
)
def test_round_trip(msg) -> None:
    back = c.parse_message(c.encode(msg))
    assert back == msg
    assert c.topic_for(msg, "p").startswith(f"p/{msg.hall_id}/{msg.edge_id}/")


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"\xff\xfe not json", "not_json"),
        (b"{\"schema_version\": 1", "not_json"),
        (b"[1, 2]", "not_object"),
        (json.dumps({**json.loads(c.encode(opened())), "schema_version": 2}).encode(), "schema_version"),
        (json.dumps({**json.loads(c.encode(opened())), "type": "finding.exploded"}).encode(), "unknown_type"),
        (json.dumps({**json.loads(c.encode(opened())), "severity": "apocalyptic"}).encode(), "invalid"),
        (json.dumps({**json.loads(c.encode(opened())), "extra_field": 1}).encode(), "invalid"),
        (json.dumps({k: v for k, v in json.loads(c.encode(opened())).items() if k != "hall_id"}).encode(), "invalid"),
        (b"{\"pad\": \"" + b"x" * (c.MAX_MESSAGE_BYTES + 1) + b"\"}", "oversized"),
        (json.dumps({**json.loads(c.encode(opened())), "type": "command.duty_check"}).encode(), "unknown_type"),
    ],
)
def test_rejections_have_reasons(raw: bytes, reason: str) -> None:
    with pytest.raises(c.ContractError) as err:
        c.parse_message(raw)
    assert err.value.reason == reason


def test_ids_are_edge_generated_and_unique() -> None:
    a, b = opened(), opened()
    assert a.id != b.id and isinstance(a.id, uuid.UUID)


def test_shared_subscription_and_command_topics() -> None:
    assert c.server_subscription("hallwatch") == "$share/hallwatch-server/hallwatch/+/+/+"
    assert c.command_topic("zhegou", "e1") == "hallwatch/zhegou/e1/command"
    cmd = c.Command(hall_id="zhegou", edge_id="e1", type="command.duty_check")
    assert c.parse_command(c.encode(cmd)) == cmd


def test_every_rule_has_a_chinese_name() -> None:
    assert all(name and not name.isascii() for name in c.RULES.values())
