"""FastAPI app factory.

``create_app(settings)`` builds the engine and session factory at once (so tests can use the app
without running the lifespan); the lifespan applies migrations, imports the configured sites,
creates the initial admin and starts the MQTT consumer. Routers of ``server.console`` and
``server.assessment`` are included when importable, so those packages plug in without edits here.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.exc import DataError

from server import events
from server.db.migrate import upgrade
from server.db.session import make_engine, make_sessionmaker, unit_of_work
from server.settings import Settings
from server.storage import LocalDiskStore

log = logging.getLogger(__name__)

# (module, attribute) of optional routers contributed by other packages
PLUGIN_ROUTERS = [("server.console.routes", "router"), ("server.assessment.routes", "router"),
                  ("server.people.routes", "router"), ("server.feedback.routes", "router"),
                  ("server.county.routes", "router"), ("server.hallops.routes", "router")]


def _startup(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    if settings.run_migrations:
        upgrade(app.state.engine)
    from server.timeseries import ensure_partitions

    ensure_partitions(app.state.engine)
    from server.ingest import handlers

    handlers.MAX_CLOCK_SKEW = dt.timedelta(seconds=settings.ingest_max_clock_skew_s)
    from server.siteimport import import_site_file
    from server.users import ensure_initial_admin

    with unit_of_work(app.state.sessionmaker) as session:
        for path in settings.site_config_files:
            import_site_file(session, path, actor="system")
        ensure_initial_admin(session, settings)
        from server.edges import issue_edge_token

        for hall_id, edge_code, token in settings.provisioned_edge_tokens:
            issue_edge_token(session, hall_id, edge_code, actor="system", token=token)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    _startup(app)
    from server import live

    relay = live.start(settings, app.state.engine.dialect.name)
    app.state.live_relay = relay
    consumer = None
    if settings.mqtt_enabled:
        from server.ingest.mqtt import ConsumerLanes

        consumer = ConsumerLanes(settings, app.state.sessionmaker)
        consumer.start()
        app.state.mqtt = consumer
    try:
        yield
    finally:
        if consumer is not None:
            consumer.stop()
        if relay is not None:
            live.release(relay)
        app.state.commands.close()
        app.state.engine.dispose()


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check()
    app = FastAPI(title="HallWatch", version="0.1.0", lifespan=lifespan,
                  description="政务服务大厅 monitoring: findings, alerts, evidence, checks, assessment.")
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.db_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.secret = settings.effective_secret()
    from server.assessment import signoff

    signoff.configure_seal_key(settings.effective_signoff_key())
    app.state.store = LocalDiskStore(settings.evidence_path, max_bytes=settings.evidence_max_bytes)
    app.state.mqtt = None
    from server.ingest.mqtt import CommandPublisher

    app.state.commands = CommandPublisher(settings, app.state.sessionmaker)

    from server.api import alerts, auth, edges, evidence, findings, ingest, ops, site, users

    for module in (ops, auth, users, site, findings, alerts, evidence, edges, ingest):
        app.include_router(module.router)
    for module_name, attr in PLUGIN_ROUTERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # package not there (yet)
            raise
        app.include_router(getattr(module, attr))
        for render in getattr(module, "LIVE_RENDERERS", ()):  # see server.events: views built at commit
            events.broadcaster.add_renderer(render)
        log.info("included router %s.%s", module_name, attr)
    from server.web_security import SecurityMiddleware, out_of_range

    app.add_exception_handler(DataError, out_of_range)
    app.add_exception_handler(OverflowError, out_of_range)

    app.add_middleware(SecurityMiddleware, trusted_origins=[*settings.trusted_origins, *settings.cors_origins],
                       public_url=settings.public_url, hsts=settings.production)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
                           allow_methods=["*"], allow_headers=["*"])
    return app
