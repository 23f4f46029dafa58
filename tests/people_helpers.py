"""Shared pieces of the people tests: a hall of the demo config (roster from 2026-01-01) with users of every role
bound to it, an edge token, and helpers that post findings through the real HTTP ingest and decide them."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from edge import contract as c
from server.db import Hall as DbHall
from server.db import User
from server.siteimport import import_site
from server.testing import auth_headers, make_edge_token, unique_site

TZ = ZoneInfo("Asia/Shanghai")
ROLES = ("viewer", "inspector", "supervisor", "admin")


@dataclass
class Hall:
    client: TestClient
    session: Session
    hall_id: str
    edge_id: str
    edge_token: str
    users: dict[str, User] = field(default_factory=dict)

    def h(self, role: str) -> dict[str, str]:
        return auth_headers(self.users[role])

    def get(self, path: str, role: str = "viewer", **kw: Any):
        return self.client.get(path, headers=self.h(role), **kw)

    def post(self, path: str, role: str = "supervisor", **kw: Any):
        return self.client.post(path, headers=self.h(role), **kw)

    def ingest(self, msg: Any) -> None:
        r = self.client.post("/api/v1/ingest", content=c.encode(msg), headers={
            "Authorization": f"Bearer {self.edge_token}", "Content-Type": "application/json"})
        assert r.status_code in (200, 201, 202) and r.json().get("status") != "rejected", r.text

    def picture(self, path: Path) -> bytes:
        """``path`` as a JPEG unique to this hall (other tests may have stored the same picture, with links of
        their own that would hold it)."""
        import cv2

        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        assert image is not None, path
        image[0, 0] = [int(b) for b in hashlib.sha256(self.hall_id.encode()).digest()[:3]]
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 100])
        assert ok
        return buf.tobytes()

    def upload(self, path: Path) -> c.EvidenceRef:
        data = self.picture(path)
        sha = hashlib.sha256(data).hexdigest()
        r = self.client.put(f"/api/v1/evidence/{sha}", content=data, headers={
            "Authorization": f"Bearer {self.edge_token}", "Content-Type": "image/jpeg"})
        assert r.status_code in (200, 201), r.text
        return c.EvidenceRef(sha256=sha, kind="snapshot", content_type="image/jpeg", size=len(data))

    def finding(self, rule: str, window: str | None, start: dt.datetime, *, duration_s: float | None = None,
                severity: str = "warning", evidence: list[c.EvidenceRef] | None = None, staff: str | None = None,
                ) -> str:
        """Post a finding (opened, and closed when ``duration_s`` is given); returns its UUID."""
        fid = uuid.uuid4()
        self.ingest(c.FindingOpened(hall_id=self.hall_id, edge_id=self.edge_id, finding_id=fid, rule=rule,
                                    severity=severity, started_at=start, window_id=window, staff_id=staff,
                                    evidence=evidence or []))
        if duration_s is not None:
            self.ingest(c.FindingClosed(hall_id=self.hall_id, edge_id=self.edge_id, finding_id=fid, rule=rule,
                                        ended_at=start + dt.timedelta(seconds=duration_s), duration_s=duration_s))
        return str(fid)

    def alert(self, finding_id: str) -> dict[str, Any]:
        rows = self.get(f"/api/v1/findings?hall={self.hall_id}&limit=1000").json()
        (f,) = [x for x in rows if x["finding_id"] == finding_id]
        return {"id": f["alert_id"], "status": f["alert_status"]}

    def confirm(self, finding_id: str) -> int:
        aid = self.alert(finding_id)["id"]
        r = self.post(f"/api/v1/alerts/{aid}/confirm", json={"comment": "监控复核属实"})
        assert r.status_code == 200, r.text
        return aid


def make_hall(client: TestClient, session: Session) -> Hall:
    cfg = unique_site()
    import_site(session, cfg, actor="test", today=dt.date(2026, 1, 1))
    session.commit()
    hall = Hall(client, session, cfg.hall.id, cfg.edge.id, make_edge_token(session, cfg.hall.id, cfg.edge.id))
    for role in ROLES:
        u = User(username=f"{role}-{uuid.uuid4().hex[:8]}", password_hash="x", role=role, hall_id=cfg.hall.id)
        session.add(u)
        hall.users[role] = u
    other_hall = DbHall(id=f"o{uuid.uuid4().hex[:10]}", name="另一个大厅")
    session.add(other_hall)
    session.flush()
    other = User(username=f"sup-other-{uuid.uuid4().hex[:6]}", password_hash="x", role="supervisor",
                 hall_id=other_hall.id)
    session.add(other)
    hall.users["other_supervisor"] = other
    session.commit()
    return hall


def local(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=TZ)
