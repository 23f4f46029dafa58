"""Live events go out only when the outer transaction commits — not when an ingest SAVEPOINT is released,
when the rows are not yet visible to the console's own connection — and never after a rollback."""

from __future__ import annotations

from server import events
from server.db.migrate import upgrade
from server.db.session import make_engine, make_sessionmaker


def test_events_wait_for_the_outer_commit(tmp_path, monkeypatch) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ev.db'}")
    upgrade(engine)
    sent: list[dict] = []
    monkeypatch.setattr(events, "broadcast", sent.append)
    with make_sessionmaker(engine)() as session:
        with session.begin():
            with session.begin_nested():  # ingest applies each message in a savepoint
                events.after_commit(session, {"n": 1})
            assert sent == [], "event broadcast when a savepoint was released"
            nested = session.begin_nested()
            events.after_commit(session, {"n": 2})
            nested.rollback()  # this message failed
        assert [e["n"] for e in sent] == [1]
        with session.begin():
            events.after_commit(session, {"n": 3})
            session.rollback()
        assert [e["n"] for e in sent] == [1]
    engine.dispose()
