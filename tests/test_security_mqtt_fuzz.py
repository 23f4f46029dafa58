"""Hostile MQTT payloads against the real broker (issue 13): hypothesis publishes random bytes, invalid UTF-8,
huge and deeply nested JSON, wrong types and extra fields in a finding.opened, NaN/Infinity literals, far-future
times and control characters in ids, with QoS 1, to a registered edge's finding, window-state and sensor-reading
topics. Every one ends acknowledged and counted (stored, duplicate or rejected), none as a server error (NUL and
lone surrogates, which no database text holds, are refused by the contract as invalid); the broker redelivers
nothing to the resumed session; the next valid finding is stored and /healthz stays healthy."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edge import contract as c
from server.db import Finding
from server.db.session import make_sessionmaker
from server.ingest.mqtt import MqttConsumer
from server.metrics import INGEST_ACCEPTED, INGEST_DUPLICATE, INGEST_REJECTED
from server.testing import *  # db_session, app, server_engine: fixtures
from tests import test_ingest_mqtt
from tests.conftest import wait_until
from tests.test_ingest_mqtt import publisher, wait_processed
from tests.test_ingest_service import opened
from tests.test_security_fuzz import JSON

committed_hall = test_ingest_mqtt.committed_hall  # fixtures, shared with the other MQTT tests
mqtt_settings = test_ingest_mqtt.mqtt_settings

EDGE = "zhegou-edge-1"
TOPICS = ("finding", "window", "sensor")  # finding, window state and sensor reading topics of the edge

# where in a finding.opened dict a hostile value goes
PATHS: list[tuple[Any, ...]] = [
    ("schema_version",), ("type",), ("id",), ("hall_id",), ("edge_id",), ("sent_at",), ("finding_id",), ("rule",),
    ("severity",), ("started_at",), ("window_id",), ("camera_id",), ("sensor_id",), ("zone_id",), ("staff_id",),
    ("confidence",), ("details",), ("details", "absent_s"), ("evidence",), ("evidence", 0, "sha256"),
    ("evidence", 0, "size"), ("evidence", 0, "captured_at"), ("evidence", 0, "content_type"),
]
STRING_FIELDS = ("window_id", "camera_id", "staff_id", "rule", "severity", "edge_id", "finding_id")
TIME_PATHS = [("sent_at",), ("started_at",), ("evidence", 0, "captured_at")]
ID_PATHS = [("id",), ("finding_id",), ("hall_id",), ("edge_id",), ("window_id",), ("camera_id",), ("sensor_id",),
            ("zone_id",), ("staff_id",), ("rule",), ("details", "absent_s"), ("evidence", 0, "content_type")]
BAD_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xc0\xaf"]

CONTROL_TEXT = st.text(st.characters(categories=["Cc", "Cf", "Cs", "Zl", "Zp"]), min_size=1, max_size=8)
MUTATION = st.one_of(
    st.tuples(st.just("bytes"), st.binary(max_size=600)),
    st.tuples(st.just("bad_utf8"), st.tuples(st.sampled_from(STRING_FIELDS), st.sampled_from(BAD_UTF8))),
    st.tuples(st.just("bad_utf8_raw"), st.tuples(st.binary(max_size=40), st.sampled_from(BAD_UTF8))),
    st.tuples(st.just("deep"), st.tuples(st.sampled_from(["[", '{"a":']), st.integers(200, 30000))),
    st.tuples(st.just("huge"), st.integers(c.MAX_MESSAGE_BYTES - 2000, c.MAX_MESSAGE_BYTES + 4096)),
    st.tuples(st.just("wrong_type"), st.tuples(st.sampled_from(PATHS), JSON)),
    st.tuples(st.just("extra"), st.tuples(st.sampled_from([(), ("evidence", 0)]),
                                          st.dictionaries(st.text(min_size=1, max_size=12), JSON, min_size=1,
                                                          max_size=4))),
    st.tuples(st.just("nonfinite"), st.tuples(st.sampled_from(PATHS),
                                              st.sampled_from([float("nan"), float("inf"), float("-inf")]))),
    st.tuples(st.just("future"), st.tuples(st.sampled_from(TIME_PATHS),
                                           st.datetimes(min_value=dt.datetime(2030, 1, 1),
                                                        timezones=st.just(dt.UTC)))),
    st.tuples(st.just("control"), st.tuples(st.sampled_from(ID_PATHS),
                                            st.tuples(st.sampled_from(["", "W02", "S003"]), CONTROL_TEXT))),
)


def set_path(doc: dict, path: tuple[Any, ...], value: Any) -> dict:
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def hostile(mutation: tuple[str, Any], base: dict) -> bytes:
    """The payload for one mutation of a valid finding.opened ``base`` (fresh ids each time)."""
    kind, arg = mutation
    if kind == "bytes":
        return arg
    if kind == "bad_utf8":
        field, junk = arg
        old = json.dumps(base[field]).encode()
        return json.dumps(base).encode().replace(old, old[:2] + junk + old[2:], 1)
    if kind == "bad_utf8_raw":
        prefix, junk = arg
        return prefix + junk
    if kind == "deep":
        opener, depth = arg
        closer = "]" if opener == "[" else "}"
        return (opener * depth + ("" if opener == "[" else "1") + closer * depth).encode()
    if kind == "huge":
        return json.dumps(set_path(base, ("details", "blob"), "y" * arg)).encode()
    if kind == "extra":
        where, extra = arg
        target = base
        for key in where:
            target = target[key]
        target.update({k: v for k, v in extra.items() if k not in target})
        return json.dumps(base).encode()
    if kind == "future":
        path, when = arg
        return json.dumps(set_path(base, path, when.isoformat())).encode()
    if kind == "control":
        path, (prefix, ctrl) = arg
        return json.dumps(set_path(base, path, prefix + ctrl)).encode()
    path, value = arg  # wrong_type, nonfinite (json.dumps writes NaN / Infinity / -Infinity literals)
    return json.dumps(set_path(base, path, value)).encode()


# JSON escapes of NUL and of UTF-16 surrogates: strings PostgreSQL text/JSON (NUL) or the UTF-8 encoder (a lone
# surrogate) cannot hold; the contract refuses them as invalid.
UNSTORABLE = re.compile(rb"\\u0000|\\ud[89a-f][0-9a-f]{2}", re.IGNORECASE)


def mqtt_outcomes() -> float:
    """Final ingest outcomes counted for MQTT so far: stored, duplicate or rejected (``db_error`` is a retry of a
    message kept unacknowledged, not an outcome)."""
    total = 0.0
    for counter in (INGEST_ACCEPTED, INGEST_DUPLICATE, INGEST_REJECTED):
        for line in counter.render().splitlines():
            if not line.startswith("#") and 'via="mqtt"' in line and 'reason="db_error"' not in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_hostile_mqtt_payloads_are_all_acknowledged_and_the_next_valid_finding_is_stored(
        mqtt_broker, mqtt_settings, server_engine, server_settings, committed_hall):
    from server.app import create_app

    hall = committed_hall.hall.id
    prefix = mqtt_settings.mqtt_topic_prefix
    # a persistent session: a second consumer with the same client id gets whatever the first left unacknowledged
    settings_ = mqtt_settings.model_copy(update={"mqtt_session_expiry_s": 120})
    factory = make_sessionmaker(server_engine)
    consumer = MqttConsumer(settings_, factory)
    consumer.start()
    pub = publisher(mqtt_broker)
    sent = 0
    errors: list[str] = []  # messages that passed the contract but failed to store (reason "error": a server bug)
    outcomes_before = mqtt_outcomes()
    errors_before = INGEST_REJECTED.value(reason="error", via="mqtt")
    try:
        assert consumer.subscribed.wait(60), "consumer did not subscribe"

        @settings(max_examples=25, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate],  # no shrinking: the consumer is shared by all examples
                  suppress_health_check=list(HealthCheck))
        @given(topic=st.sampled_from(TOPICS), mutation=MUTATION)
        @example(topic="finding", mutation=("deep", ("[", 20000)))
        @example(topic="finding", mutation=("bad_utf8", ("window_id", b"\xff")))
        @example(topic="finding", mutation=("nonfinite", (("details", "absent_s"), float("nan"))))
        @example(topic="finding", mutation=("nonfinite", (("confidence",), float("inf"))))
        @example(topic="finding", mutation=("future", (("started_at",), dt.datetime(2099, 1, 1, tzinfo=dt.UTC))))
        @example(topic="finding", mutation=("control", (("window_id",), ("W02", "\x00"))))
        @example(topic="finding", mutation=("control", (("staff_id",), ("S003", "\ud800"))))
        @example(topic="finding", mutation=("control", (("details", "absent_s"), ("", "\x00\x1b[2J"))))
        @example(topic="finding", mutation=("wrong_type", (("evidence",), {"sha256": [1, 2]})))
        @example(topic="finding", mutation=("extra", ((), {"admin": True, "__proto__": {}})))
        @example(topic="window", mutation=("huge", c.MAX_MESSAGE_BYTES + 1))
        @example(topic="sensor", mutation=("bytes", b"\x00\x01\x02garbage"))
        def publish_one(topic: str, mutation: tuple[str, Any]) -> None:
            nonlocal sent
            payload = hostile(mutation, json.loads(c.encode(opened(hall))))
            pub.publish(f"{prefix}/{hall}/{EDGE}/{topic}", payload, qos=1).wait_for_publish(30)
            sent += 1
            wait_processed(consumer, sent)  # acknowledged after its batch committed, whatever the bytes
            assert not consumer.stuck
            outcome = consumer.last_outcome  # one message in flight at a time: its own outcome
            if outcome.reason == "error":
                errors.append(f"{topic} {mutation!r:.120}: {outcome.detail}")

        publish_one()
        assert sent >= 25

        valid = opened(hall)
        pub.publish(c.topic_for(valid, prefix), c.encode(valid), qos=1).wait_for_publish(30)
        wait_processed(consumer, sent + 1)
        assert consumer.processed == sent + 1
        assert consumer.last_outcome.status == "accepted" and consumer.last_outcome.message_id == str(valid.id)
        with Session(server_engine) as s:
            assert s.scalar(select(func.count()).select_from(Finding)
                            .where(Finding.finding_id == str(valid.finding_id))) == 1
        # every message got exactly one final outcome, and none was a server error (a message that passed the
        # contract but could not be stored)
        assert mqtt_outcomes() - outcomes_before == sent + 1
        assert not errors, errors
        assert INGEST_REJECTED.value(reason="error", via="mqtt") == errors_before
        # the app on the real engine (the ``app`` fixture's open test transaction would lock SQLite), no lifespan
        app = create_app(server_settings, engine=server_engine)
        app.state.mqtt = consumer
        try:
            r = TestClient(app).get("/healthz")
        finally:
            app.state.mqtt = None
            app.state.commands.close()
        assert (r.status_code, r.json()["status"], r.json()["ingest"], r.json()["mqtt"]) == (
            200, "ok", "ok", "connected")
    finally:
        consumer.stop()

    # the broker holds nothing unacknowledged: the resumed session gets only the message published now
    second = MqttConsumer(settings_, factory)
    second.start()
    try:
        assert second.subscribed.wait(60), "second consumer did not subscribe"
        sentinel = c.Heartbeat(hall_id=hall, edge_id=EDGE, uptime_s=7, outbox_pending=0)
        pub.publish(c.topic_for(sentinel, prefix), c.encode(sentinel), qos=1).wait_for_publish(30)
        assert wait_until(lambda: second.last_outcome is not None
                          and second.last_outcome.message_id == str(sentinel.id)), second.last_outcome
        assert second.processed == 1, f"{second.processed - 1} messages redelivered: left unacknowledged"
    finally:
        pub.loop_stop()
        pub.disconnect()
        second.stop()


@pytest.mark.parametrize("path, value", [(("window_id",), "W02\x00"), (("staff_id",), "S003\ud800"),
                                         (("details", "note"), "a\x00b")], ids=["nul-id", "surrogate-id",
                                                                                 "nul-details"])
def test_strings_the_database_cannot_hold_are_refused_by_the_contract(path, value):
    raw = json.dumps(set_path(json.loads(c.encode(opened("h1"))), path, value)).encode()
    assert UNSTORABLE.search(raw)
    with pytest.raises(c.ContractError) as err:
        c.parse_message(raw)
    assert err.value.reason == "invalid"


@pytest.mark.parametrize("raw_text", ["\ud800".encode("utf-8", "surrogatepass"), b"\\u0000", b"\\uDFFF"],
                         ids=["utf8-encoded-surrogate", "escaped-nul", "escaped-surrogate-upper"])
def test_unstorable_bytes_are_refused_however_they_are_written(raw_text):
    """json.loads decodes bytes with "surrogatepass": a surrogate written as raw UTF-8 bytes arrives as one too."""
    raw = c.encode(opened("h1")).replace(b'"window_id":"W02"', b'"window_id":"W02' + raw_text + b'"')
    assert raw != c.encode(opened("h1"))
    with pytest.raises(c.ContractError) as err:
        c.parse_message(raw)
    assert err.value.reason == "invalid"

