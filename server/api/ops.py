"""Health and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy import func, select, text

from server.db import Alert, Edge
from server.deps import SessionDep
from server.events import broadcaster
from server.metrics import ALL_COUNTERS, gauge

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="Liveness, database and ingest check",
            responses={503: {"description": "the MQTT consumer is stuck (messages wait unacknowledged)"}})
def healthz(request: Request, response: Response, session: SessionDep) -> dict:
    session.execute(text("SELECT 1"))
    mqtt = request.app.state.mqtt
    out = {"status": "ok", "database": "ok",
           "mqtt": None if mqtt is None else ("connected" if mqtt.connected.is_set() else "disconnected")}
    if mqtt is not None:
        out["ingest"] = "stuck" if mqtt.stuck else "ok"
        if mqtt.stuck:
            out["status"] = "degraded"
            response.status_code = 503
    return out


def metrics_access(request: Request) -> None:
    """``metrics_token`` set: the scraper sends it as a bearer token. Otherwise only ``metrics_allow`` addresses."""
    settings = request.app.state.settings
    if settings.metrics_token:
        auth = request.headers.get("authorization", "")
        given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(given.encode(), settings.metrics_token.encode()):
            raise HTTPException(401, "metrics need the scrape token", headers={"WWW-Authenticate": "Bearer"})
        return
    host = request.client.host if request.client else ""
    if "*" not in settings.metrics_allow and host not in settings.metrics_allow:
        raise HTTPException(403, "metrics are served to the addresses in HALLWATCH_METRICS_ALLOW or with "
                                 "HALLWATCH_METRICS_TOKEN")


@router.get("/metrics", summary="Prometheus metrics (scrape token or allowed address)", response_class=Response,
            dependencies=[Depends(metrics_access)])
def metrics(request: Request, session: SessionDep) -> Response:
    parts = [c.render() for c in ALL_COUNTERS]
    by_status = session.execute(select(Alert.hall_id, Alert.status, func.count()).group_by(Alert.hall_id,
                                                                                          Alert.status)).all()
    parts.append(gauge("hallwatch_alerts", "Alerts by hall and status.",
                       [({"hall": h, "status": s}, n) for h, s, n in by_status]))
    escalated = session.scalar(select(func.count()).select_from(Alert).where(Alert.escalated.is_(True),
                                                                             Alert.status == "open"))
    parts.append(gauge("hallwatch_alerts_escalated_open", "Open alerts marked escalated.", [({}, escalated or 0)]))
    edges = session.execute(select(Edge.hall_id, Edge.code, Edge.online)).all()
    parts.append(gauge("hallwatch_edge_online", "1 when the edge last said it is online.",
                       [({"hall": h, "edge": c}, 1.0 if o else 0.0) for h, c, o in edges]))
    mqtt = request.app.state.mqtt
    parts.append(gauge("hallwatch_mqtt_connected", "1 when the MQTT consumer is connected.",
                       [({}, 1.0 if mqtt is not None and mqtt.connected.is_set() else 0.0)]))
    parts.append(gauge("hallwatch_live_subscribers", "Live event subscribers.", [({}, broadcaster.subscribers)]))
    return Response("\n".join(parts) + "\n", media_type="text/plain; version=0.0.4; charset=utf-8")
