"""HTTP ingest: the same ``ingest()`` as MQTT, authenticated by the edge token."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from edge.contract import MAX_MESSAGE_BYTES
from server.deps import CurrentEdge, SessionDep
from server.ingest import ingest
from server.metrics import INGEST_REJECTED

router = APIRouter(prefix="/api/v1", tags=["ingest"])


class IngestOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(description="accepted | duplicate | rejected.")
    reason: str | None = Field(default=None, description="Rejection reason (counter label).")
    detail: str | None = Field(default=None, description="Human-readable detail.")
    type: str | None = Field(default=None, description="Message type.")
    message_id: str | None = Field(default=None, description="Message id.")


STATUS = {"accepted": 202, "duplicate": 200}
REASON_STATUS = {"oversized": 413, "edge_mismatch": 403, "unknown_hall": 404, "unknown_finding": 409,
                 "conflict": 409}  # every other rejection (bad bytes, future_time, a message that fails) is 422


@router.post("/ingest", response_model=IngestOut, summary="Post one edge message (contract JSON)",
             responses={202: {"description": "accepted"}, 200: {"description": "duplicate (already applied)"},
                        422: {"description": "rejected"}})
async def post_ingest(request: Request, response: Response, edge: CurrentEdge, session: SessionDep) -> IngestOut:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_MESSAGE_BYTES:
            INGEST_REJECTED.inc(reason="oversized", via="http")
            response.status_code = 413
            return IngestOut(status="rejected", reason="oversized", detail=f"more than {MAX_MESSAGE_BYTES} bytes")
    outcome = ingest(session, bytes(body), via="http", edge=edge)
    response.status_code = STATUS.get(outcome.status) or REASON_STATUS.get(outcome.reason or "", 422)
    return IngestOut(status=outcome.status, reason=outcome.reason, detail=outcome.detail, type=outcome.type,
                     message_id=outcome.message_id)
