"""The supervisor console: its API routers, the static web console at ``/console``, the ingest and alert
hooks it registers, and its background loops (escalation, automatic safety checks).

``server.app.create_app`` includes ``router`` when this module imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

from server import alerts
from server.console import api_alerts, api_checks, api_patrol, checks
from server.console.background import run_loops
from server.console.settings import ConsoleSettings
from server.ingest import service as ingest_service
from server.ingest.service import register_hook

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


def _on_safety_result(session: Any, message: Any, row: Any) -> None:
    """Ingest hook: an edge answered a safety check → merge with server facts, open alerts for failures."""
    checks.finalize_safety_check(session, row)


def install_hooks() -> None:
    """Register the console's ingest and alert hooks once in the registries as they are now (idempotent;
    called at import and at every app start, so a registry swapped by a test is filled again)."""
    if _on_safety_result not in ingest_service._HOOKS.get("safety_check.result", []):
        register_hook("safety_check.result", _on_safety_result)
    if api_patrol.patrol_from_confirmed_alert not in alerts.TRANSITION_HOOKS:
        alerts.TRANSITION_HOOKS.append(api_patrol.patrol_from_confirmed_alert)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    install_hooks()
    settings = getattr(app.state, "console_settings", None) or ConsoleSettings()  # tests may preset it
    app.state.console_settings = settings
    task = asyncio.create_task(run_loops(app, settings)) if settings.background else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        pub = getattr(app.state, "console_commands", None)
        if pub is not None:
            pub.close()


router = APIRouter(lifespan=lifespan)
router.include_router(api_alerts.router)
router.include_router(api_checks.router)
router.include_router(api_patrol.router)
LIVE_RENDERERS = (api_alerts.render_console_events,)  # server.app registers them with server.events
install_hooks()


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/console/")


@router.get("/console", include_in_schema=False)
@router.get("/console/", include_in_schema=False)
def console_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/console/static/{path:path}", include_in_schema=False)
def console_static(path: str) -> FileResponse:
    target = (STATIC / path).resolve()
    if not target.is_file() or STATIC not in target.parents:
        raise HTTPException(404, "not found")
    return FileResponse(target, media_type=_TYPES.get(target.suffix), headers={"Cache-Control": "no-cache"})
