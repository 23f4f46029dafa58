"""A subscriber's event queue: live state coalesced per subject, alerts never lost to a flood of it and never
behind it."""

from __future__ import annotations

import asyncio

import pytest

from server.events import EventQueue


def window(w: str, state: str, hall: str = "h1") -> dict:
    return {"type": "window.state", "hall_id": hall, "window": w, "state": state}


def alert(n: int) -> dict:
    return {"type": "alert.opened", "hall_id": "h1", "alert_id": n}


def drain(q: EventQueue) -> list[dict]:
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out


def test_a_newer_state_replaces_the_pending_one_in_its_place():
    q = EventQueue(10)
    for ev in (window("W01", "staffed"), alert(1), window("W02", "empty"), window("W01", "empty"),
               window("W01", "staffed", hall="h2")):
        q.put_nowait(ev)
    assert drain(q) == [alert(1), window("W01", "empty"), window("W02", "empty"), window("W01", "staffed", "h2")]
    assert q.coalesced == 1
    q.put_nowait(window("W01", "uncertain"))  # sent already: queued again
    assert drain(q) == [window("W01", "uncertain")]


def test_a_full_queue_drops_the_oldest_live_state_and_keeps_every_alert():
    q = EventQueue(3)
    q.put_nowait(window("W01", "staffed"))
    q.put_nowait({"type": "edge.heartbeat", "hall_id": "h1", "edge": "e1"})
    q.put_nowait(alert(1))
    q.put_nowait(alert(2))  # full: the window state goes
    q.put_nowait(alert(3))  # full: the heartbeat goes
    assert [e.get("alert_id") for e in drain(q)] == [1, 2, 3]
    for n in range(3):
        q.put_nowait(alert(n))
    with pytest.raises(asyncio.QueueFull):
        q.put_nowait(alert(9))  # only alerts pending: the broadcaster counts and logs the drop


def test_flood_of_states_never_pushes_out_an_alert():
    q = EventQueue(50)
    for i in range(10_000):
        q.put_nowait(window(f"W{i % 40:02d}", "staffed" if i % 2 else "empty", hall=f"h{i % 3}"))
        if i % 1000 == 0:
            q.put_nowait(alert(i))
    got = drain(q)
    assert [e["alert_id"] for e in got if e["type"] == "alert.opened"] == list(range(0, 10_000, 1000))
    assert len(got) <= 50


def test_an_alert_behind_a_backlog_of_live_state_is_taken_first_and_alerts_keep_their_order():
    q = EventQueue()
    for i in range(400):
        q.put_nowait(window(f"W{i:03d}", "staffed"))
    q.put_nowait(alert(1))
    q.put_nowait({"type": "alert.updated", "hall_id": "h1", "alert_id": 1})
    q.put_nowait(window("W999", "empty"))
    got = drain(q)
    assert [e["type"] for e in got[:2]] == ["alert.opened", "alert.updated"]
    assert [e["window"] for e in got[2:]] == [f"W{i:03d}" for i in range(400)] + ["W999"]


def test_get_waits_for_an_event_and_can_be_cancelled():
    async def run():
        q = EventQueue()
        waiter = asyncio.ensure_future(q.get())
        await asyncio.sleep(0)
        q.put_nowait(alert(1))
        assert (await asyncio.wait_for(waiter, 60))["alert_id"] == 1
        cancelled = asyncio.ensure_future(q.get())
        await asyncio.sleep(0)
        cancelled.cancel()
        q.put_nowait(alert(2))
        assert (await asyncio.wait_for(q.get(), 60))["alert_id"] == 2  # nothing was taken by the cancelled get

    asyncio.run(run())


@pytest.mark.parametrize("events, want", [
    ([], []),
    ([alert(1), alert(2)], [alert(1), alert(2)]),
    ([window("W01", "staffed"), alert(1), window("W01", "empty")], [window("W01", "empty"), alert(1)]),
    ([window("W01", "staffed"), window("W01", "staffed", hall="h2"), window("W02", "empty"), window("W01", "empty")],
     [window("W01", "empty"), window("W01", "staffed", hall="h2"), window("W02", "empty")]),
    ([{"type": "edge.heartbeat", "hall_id": "h1", "edge": "e1", "n": 1}, alert(1),
      {"type": "edge.heartbeat", "hall_id": "h1", "edge": "e1", "n": 2}],
     [{"type": "edge.heartbeat", "hall_id": "h1", "edge": "e1", "n": 2}, alert(1)]),
], ids=["empty", "alerts-kept", "newest-state-first-place", "per-subject", "heartbeats"])
def test_a_burst_keeps_each_subjects_newest_state_once(events, want):
    from server.events import coalesce

    assert coalesce(events) == want


def test_a_relayed_burst_reaches_each_subscriber_in_one_hand_over_in_order():
    """``deliver_many`` (a NOTIFY payload of the bulk worker's events) wakes each subscriber's loop once for the
    whole burst; the queue then coalesces and puts alerts first, as for events delivered one by one."""
    from server.events import Broadcaster

    async def main() -> list[dict]:
        b = Broadcaster()
        hand_overs = []
        real = b._put
        b._put = lambda queue, evs: (hand_overs.append(len(evs)), real(queue, evs))  # type: ignore[method-assign]
        async with b.subscribe() as q:
            burst = [window("W01", "staffed"), window("W02", "empty"), alert(7), window("W01", "empty")]
            await asyncio.get_running_loop().run_in_executor(None, b.deliver_many, burst)
            while q.empty():
                await asyncio.sleep(0)
            assert hand_overs == [4]
            return drain(q)

    got = asyncio.run(main())
    assert got == [alert(7), window("W01", "empty"), window("W02", "empty")]
