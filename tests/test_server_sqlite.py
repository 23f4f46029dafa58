"""The embedded default (SQLite) under the server's concurrency: ingest thread + HTTP workers at once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from server.audit import audit
from server.db import AuditLog
from server.db.migrate import upgrade
from server.db.session import make_engine, make_sessionmaker, unit_of_work


def test_concurrent_read_then_write_transactions(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hw.db'}")
    upgrade(engine)
    factory = make_sessionmaker(engine)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(15):
                with unit_of_work(factory) as s:
                    s.scalar(select(func.count()).select_from(AuditLog))  # read first, then write
                    audit(s, actor=f"t{n}", action="test.write", entity_type="test", entity_id=f"{n}-{i}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "test.write")) == 90
    engine.dispose()
