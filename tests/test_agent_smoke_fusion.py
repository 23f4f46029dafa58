"""A smoke alarm from a sensor that a camera covers primes the smoking rule on that camera (sensor fusion)."""

from __future__ import annotations

import uuid

from edge.contract import utcnow
from edge.rules import find_rule
from edge.rules.base import RuleEvent
from edge.rules.smoking import SmokingRule
from tests.conftest import free_port
from tests.test_agent import agent_config


def test_smoke_alarm_primes_the_smoking_rule(mqtt_broker, topic_prefix, media_dir, models_dir, tmp_path) -> None:
    from edge.agent.runtime import EdgeAgent

    cfg = agent_config(mqtt_broker, topic_prefix, media_dir, models_dir, tmp_path / "edge", free_port())
    agent = EdgeAgent(cfg, sensors=False)  # built, not started: no threads
    rule = find_rule(agent.pipeline.rules, SmokingRule)
    assert rule is not None
    assert not rule._smoke_active("cam-w02", utcnow())
    agent._sensor_event(RuleEvent(kind="opened", rule="smoke_detected", finding_id=uuid.uuid4(), at=utcnow(),
                                  severity="critical", sensor_id="smoke-hall", camera_id="cam-w02", evidence=False))
    assert rule._smoke_active("cam-w02", utcnow()) == "smoke-hall"
    assert not rule._smoke_active("cam-dead", utcnow())
