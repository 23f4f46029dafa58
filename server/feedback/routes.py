"""Feedback API: the labelled samples kept from alert decisions, and the per-seat thresholds of a hall.

- ``GET /api/v1/feedback/halls/{hall}/samples`` (inspector+): the samples, newest first, without the pictures;
- ``GET /api/v1/feedback/samples/{id}/crop`` (inspector+): a sample's crop (JPEG);
- ``GET /api/v1/feedback/halls/{hall}/seat-tuning`` (viewer+): the thresholds in force;
- ``PUT /api/v1/feedback/halls/{hall}/seat-tuning`` (supervisor+): new per-seat thresholds, JSON or the YAML file
  ``hallwatch models tune presence`` writes (``Content-Type: application/yaml``); stored, audited, and published
  to each edge of the hall as a retained ``command.seat_tuning`` after the commit.

A tuning the broker did not take (unreachable at the time) stays unpublished in the table; the router's
background loop publishes every hall's newest unpublished tuning every ``RETRY_S`` (``publish_pending``), each
hall's newest one again every ``REPUBLISH_S`` (a broker that lost its retained messages), and
deletes crops older than ``feedback_crop_days`` every ``PURGE_S`` (``samples.purge_crops``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
from collections.abc import AsyncIterator
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from edge.contract import Command, SeatOverrides
from server.audit import audit
from server.db import Camera, Hall, utcnow
from server.db.session import unit_of_work
from server.deps import InspectorUser, SessionDep, SupervisorUser, ViewerUser, ensure_hall_visible
from server.feedback.models import FeedbackSample, SeatTuning
from server.feedback.samples import install_hooks, purge_crops
from server.ingest.mqtt import CommandError

log = logging.getLogger(__name__)
KNOWN_THRESHOLDS = {"min_person_conf": (0.0, 1.0)}
"""Threshold names the edge understands, with their open value range."""

RETRY_S = 60.0
REPUBLISH_S = 600.0
PURGE_S = 3600.0


def purge_old_crops(app: Any) -> int:
    with unit_of_work(app.state.sessionmaker) as session:
        return purge_crops(session, utcnow(), app.state.settings.feedback_crop_days)


def publish_pending(app: Any, *, every: bool = False) -> int:
    """Publish each hall's newest tuning that no broker has acknowledged yet (``every``: each hall's newest, so a
    broker that lost its retained messages has them again); returns how many went out."""
    with unit_of_work(app.state.sessionmaker) as session:
        newest = {}
        for row in session.scalars(select(SeatTuning).order_by(SeatTuning.id)):
            newest[row.hall_id] = (row.id, row.published_at is None)
    return sum(publish_tuning(app, hall_id, tid) for hall_id, (tid, pending) in sorted(newest.items())
               if pending or every)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    install_hooks()
    stop = asyncio.Event()

    async def loop() -> None:
        last_all = asyncio.get_running_loop().time()
        while not stop.is_set():
            now = asyncio.get_running_loop().time()
            every = now - last_all >= REPUBLISH_S
            last_all = now if every else last_all
            try:
                await asyncio.to_thread(functools.partial(publish_pending, app, every=every))
            except Exception:  # the loop must survive anything
                log.exception("publishing pending seat tunings failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RETRY_S)

    async def purge() -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(purge_old_crops, app)
            except Exception:  # the loop must survive anything
                log.exception("purging old feedback crops failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PURGE_S)

    task = asyncio.gather(loop(), purge())
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=30)


router = APIRouter(prefix="/api/v1/feedback", tags=["feedback"], lifespan=lifespan)
install_hooks()


class TuningBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    seat_overrides: SeatOverrides = Field(description="seat zone id -> {threshold name: value}.")
    note: str = Field(default="", max_length=2000, description="Why / where the values come from.")


def _hall(session: Any, user: Any, hall_id: str) -> Hall:
    ensure_hall_visible(user, hall_id)
    hall = session.get(Hall, hall_id)
    if hall is None:
        raise HTTPException(404, f"hall {hall_id} not found")
    return hall


def seat_zone_ids(session: Any, hall_id: str) -> set[str]:
    cams = session.scalars(select(Camera).where(Camera.hall_id == hall_id))
    return {z["id"] for c in cams for z in (c.zones or []) if isinstance(z, dict) and z.get("kind") == "seat"}


def check_overrides(overrides: dict[str, dict[str, float]], seats: set[str]) -> list[str]:
    """Problems of a tuning for a hall with these seat zones (empty when it is fine)."""
    errors = [f"unknown seat zone {z!r}" for z in sorted(set(overrides) - seats)]
    for zone, values in sorted(overrides.items()):
        for key, value in sorted(values.items()):
            if key not in KNOWN_THRESHOLDS:
                errors.append(f"{zone}: unknown threshold {key!r} (known: {', '.join(sorted(KNOWN_THRESHOLDS))})")
                continue
            lo, hi = KNOWN_THRESHOLDS[key]
            if not (math.isfinite(value) and lo < value < hi):
                errors.append(f"{zone}.{key}: {value} is outside ({lo:g}, {hi:g})")
    return errors


def tuning_view(row: SeatTuning | None) -> dict[str, Any]:
    if row is None:
        return {"seat_overrides": {}, "note": "", "created_by": None, "created_at": None, "published_at": None}
    return {"id": row.id, "seat_overrides": row.overrides, "note": row.note, "created_by": row.created_by,
            "created_at": row.created_at.isoformat(),
            "published_at": row.published_at.isoformat() if row.published_at else None}


def current_tuning(session: Any, hall_id: str) -> SeatTuning | None:
    return session.scalars(select(SeatTuning).where(SeatTuning.hall_id == hall_id)
                           .order_by(SeatTuning.id.desc()).limit(1)).first()


def publish_tuning(app: Any, hall_id: str, tuning_id: int) -> bool:
    """Publish a stored tuning to the hall's edges (retained); records when the broker acknowledged it."""
    with unit_of_work(app.state.sessionmaker) as session:
        row = session.get(SeatTuning, tuning_id)
        if row is None:
            return False
        overrides = dict(row.overrides)
    try:
        app.state.commands.publish_to_edges(hall_id, lambda code: Command(
            type="command.seat_tuning", hall_id=hall_id, edge_id=code, seat_overrides=overrides), retain=True)
    except (CommandError, OSError) as exc:
        log.warning("seat tuning %s of %s not published: %s", tuning_id, hall_id, exc)
        return False
    with unit_of_work(app.state.sessionmaker) as session:
        row = session.get(SeatTuning, tuning_id)
        if row is not None:
            row.published_at = utcnow()
    return True


@router.get("/halls/{hall_id}/samples", summary="Labelled samples kept from confirmed / dismissed alerts")
def list_samples(hall_id: str, user: InspectorUser, session: SessionDep, rule: str | None = None,
                 limit: int = 200) -> list[dict[str, Any]]:
    _hall(session, user, hall_id)
    q = select(FeedbackSample).where(FeedbackSample.hall_id == hall_id)
    if rule:
        q = q.where(FeedbackSample.rule == rule)
    rows = session.scalars(q.order_by(FeedbackSample.decided_at.desc(), FeedbackSample.id.desc())
                           .limit(max(1, min(limit, 2000))))
    return [{"id": s.id, "finding_id": s.finding_uuid, "rule": s.rule, "label": s.label, "decided_by": s.decided_by,
             "decided_at": s.decided_at.isoformat(), "camera": s.camera_code, "zone": s.zone_code,
             "window": s.window_code, "cues": s.cues, "boxes": s.boxes, "has_crop": s.crop_jpeg is not None}
            for s in rows]


@router.get("/samples/{sample_id}/crop", summary="A sample's crop (JPEG)",
            responses={200: {"content": {"image/jpeg": {}}}})
def sample_crop(sample_id: int, user: InspectorUser, session: SessionDep) -> Response:
    s = session.get(FeedbackSample, sample_id)
    if s is None:
        raise HTTPException(404, f"sample {sample_id} not found")
    ensure_hall_visible(user, s.hall_id)
    if s.crop_jpeg is None:
        raise HTTPException(404, "the crop is not there yet (its evidence file has not arrived)")
    return Response(s.crop_jpeg, media_type="image/jpeg")


@router.get("/halls/{hall_id}/seat-tuning", summary="The per-seat thresholds in force")
def get_tuning(hall_id: str, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    _hall(session, user, hall_id)
    return tuning_view(current_tuning(session, hall_id))


async def raw_body(request: Request) -> bytes:
    return await request.body()


@router.put("/halls/{hall_id}/seat-tuning", summary="Set per-seat thresholds; published retained to the edges")
def put_tuning(hall_id: str, request: Request, background: BackgroundTasks, user: SupervisorUser,
               session: SessionDep, raw: Annotated[bytes, Depends(raw_body)]) -> dict[str, Any]:
    _hall(session, user, hall_id)
    try:
        data = yaml.safe_load(raw) if "yaml" in request.headers.get("content-type", "") else json.loads(raw or b"{}")
        body = TuningBody.model_validate(data)
    except (yaml.YAMLError, ValueError) as exc:
        detail = exc.errors()[0] if isinstance(exc, ValidationError) else str(exc)
        raise HTTPException(422, f"not a seat tuning: {detail}") from None
    errors = check_overrides(body.seat_overrides, seat_zone_ids(session, hall_id))
    if errors:
        raise HTTPException(422, "; ".join(errors))
    before = current_tuning(session, hall_id)
    row = SeatTuning(hall_id=hall_id, overrides=body.seat_overrides, note=body.note.strip(), created_by=user.username)
    session.add(row)
    session.flush()
    audit(session, actor=user.username, user_id=user.id, action="seat_tuning.set", entity_type="seat_tuning",
          entity_id=row.id, before=before.overrides if before is not None else None,
          after={"seat_overrides": row.overrides, "note": row.note})
    background.add_task(publish_tuning, request.app, hall_id, row.id)  # after the commit
    return tuning_view(row)
