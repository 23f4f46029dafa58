"""Bounded fuzzing: schemathesis over the live app's OpenAPI (fixed seed, a few examples per operation, as a
global admin so requests get past authentication) and hypothesis over the edge contract. Nothing may answer 5xx
or raise anything but ContractError."""

from __future__ import annotations

import json

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge import contract as c
from server.testing import auth_headers, make_user

SKIP = {"/api/v1/events/stream"}  # a live stream that never ends by itself


def without_lifespan(app):
    """The app as the ``client`` fixture runs it: without its lifespan. schemathesis starts an ASGI app's lifespan,
    whose background loops (feedback purge and tuning publisher, console scheduler, county) would use the test's one
    database connection from other threads while the requests run (``savepoint ... does not exist``,
    ``PendingRollbackError``), and whose shutdown disposes the session-wide engine."""

    async def asgi(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan in this test")  # rejected before any message: served without one
        await app(scope, receive, send)

    return asgi


def test_no_operation_answers_5xx(app, db_session, seeded_hall) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", without_lifespan(app))
    headers = auth_headers(make_user(db_session, "admin"))
    failures: list[str] = []
    calls = 0
    for result in api.get_all_operations():
        op = result.ok()
        if op.path in SKIP:
            continue

        @settings(max_examples=4, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

        run()
    assert calls > 100
    assert not failures, failures


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=30)


def valid_closed() -> dict:
    import uuid

    return {"schema_version": 1, "type": "finding.closed", "id": str(uuid.uuid4()), "hall_id": "h1", "edge_id": "e1",
            "sent_at": "2026-09-01T08:00:00+08:00", "finding_id": str(uuid.uuid4()), "rule": "window_unstaffed",
            "ended_at": "2026-09-01T08:00:00+08:00", "duration_s": 60.0, "details": {}}


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(key=st.sampled_from(sorted(valid_closed())), value=JSON)
def test_contract_field_fuzz_only_raises_contract_errors(key, value) -> None:
    msg = valid_closed()
    msg[key] = value
    try:
        parsed = c.parse_message(json.dumps(msg).encode())
    except c.ContractError:
        return
    assert parsed.type == "finding.closed"
    assert isinstance(parsed.schema_version, int) and not isinstance(parsed.schema_version, bool)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(raw=st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode))
def test_contract_bytes_fuzz_only_raises_contract_errors(raw) -> None:
    try:
        c.parse_message(raw)
    except c.ContractError:
        pass
