"""``hallwatch server [run|create-admin|create-edge|import-site|migrate|retention|mqtt-acl]``."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from typing import Any

from server.settings import InsecureSettings, Settings


def _settings() -> Settings:
    return Settings()


def _factory(settings: Settings, migrate: bool = True):
    from server.db.migrate import upgrade
    from server.db.session import make_engine, make_sessionmaker

    engine = make_engine(settings.db_url)
    if migrate:
        upgrade(engine)
    return engine, make_sessionmaker(engine)


SHUTDOWN_GRACE_S = 3.0  # open event streams (the console's SSE) never end by themselves: cut them after this


def server_config(app: Any, host: str, port: int, log_level: str = "info") -> Any:
    """The uvicorn configuration of ``hallwatch run``: a bounded graceful shutdown, so a stop or restart does not
    wait forever on the consoles' live event streams (their EventSource reconnects to the new server)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level=log_level, proxy_headers=True,
                          timeout_graceful_shutdown=SHUTDOWN_GRACE_S)


def cmd_run(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    app = create_app(_settings())
    uvicorn.Server(server_config(app, args.host, args.port, args.log_level)).run()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    engine, _ = _factory(settings)
    engine.dispose()
    print(f"database at heads: {engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from server.db.session import unit_of_work
    from server.users import UserError, create_user

    settings = _settings()
    password = args.password or os.environ.get("HALLWATCH_ADMIN_PASSWORD")
    if not password:
        password = getpass.getpass(f"password for {args.username}: ")
        if password != getpass.getpass("again: "):
            print("passwords differ", file=sys.stderr)
            return 1
    if len(password) < 10 and settings.production:
        print("production mode: use at least 10 characters", file=sys.stderr)
        return 1
    engine, factory = _factory(settings)
    try:
        with unit_of_work(factory) as session:
            create_user(session, username=args.username, password=password, role=args.role, actor="cli")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"created {args.role} {args.username!r}")
    return 0


def cmd_create_edge(args: argparse.Namespace) -> int:
    from server.db.session import unit_of_work
    from server.edges import EdgeError, issue_edge_token

    engine, factory = _factory(_settings())
    try:
        with unit_of_work(factory) as session:
            given = os.environ.get(args.token_env) if args.token_env else None
            if args.token_env and not given:
                print(f"error: environment variable {args.token_env} is empty", file=sys.stderr)
                return 1
            _, token = issue_edge_token(session, args.hall, args.edge, actor="cli", token=given)
    except EdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if given:  # a provisioned secret stays out of logs (containers print to theirs)
        print(f"edge {args.hall}/{args.edge} registered with the token in ${args.token_env}")
    else:
        print(token)
    return 0


def cmd_import_site(args: argparse.Namespace) -> int:
    from edge.site import ConfigError
    from server.db.session import unit_of_work
    from server.siteimport import import_site_file

    engine, factory = _factory(_settings())
    try:
        for path in args.files:
            with unit_of_work(factory) as session:
                r = import_site_file(session, path, actor="cli")
            print(f"{path}: hall {r.hall_id}: created {r.created or '-'}, updated {r.updated or '-'}, "
                  f"deactivated {r.deactivated or '-'}")
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    import json

    from server.retention import purge
    from server.storage import LocalDiskStore

    settings = _settings()
    engine, factory = _factory(settings)
    try:
        report = purge(factory, LocalDiskStore(settings.evidence_path, max_bytes=settings.evidence_max_bytes),
                       evidence_days=settings.retention_evidence_days, archive_days=settings.retention_archive_days,
                       readings_days=settings.sensor_reading_retention_days, dry_run=args.dry_run, actor="cli",
                       window_states_days=settings.window_state_retention_days)
    finally:
        engine.dispose()
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    return 0


def _uid_gid(text: str) -> tuple[int, int]:
    uid, sep, gid = text.partition(":")
    if not sep or not uid.isdigit() or not gid.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not UID:GID (numbers, e.g. 1883:1883)")
    return int(uid), int(gid)


def cmd_mqtt_acl(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.mqtt_auth import mosquitto_conf, write_broker_auth

    settings = _settings()
    _, _, user, password = settings.mqtt_host_port
    engine, factory = _factory(settings)
    try:
        with factory() as session:
            auth = write_broker_auth(session, Path(args.out), prefix=settings.mqtt_topic_prefix,
                                     server_user=user or "", server_password=password or "",
                                     extra_read=args.extra_read, owner=args.owner)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    conf = Path(args.out) / "hallwatch-listener.conf"
    conf.write_text(mosquitto_conf(auth, port=args.port, bind=args.bind, certfile=args.certfile,
                                   keyfile=args.keyfile, cafile=args.cafile))
    print(f"wrote {auth.passwd}, {auth.acl} and {conf}: server user {user!r}, {len(auth.edges)} edge(s)")
    for name in auth.without_password:
        print(f"warning: edge {name} has no broker password yet; run create-edge for it again", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hallwatch server", description="HallWatch central server. Settings come "
                                "from HALLWATCH_* environment variables (see server/settings.py).")
    sub = p.add_subparsers(dest="cmd")
    run = sub.add_parser("run", help="serve the API and console (default)")
    run.add_argument("--host", default=os.environ.get("HALLWATCH_HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("HALLWATCH_PORT", "8000")))
    run.add_argument("--log-level", default="info")
    run.set_defaults(fn=cmd_run)
    sub.add_parser("migrate", help="apply database migrations (alembic upgrade heads)").set_defaults(fn=cmd_migrate)
    ca = sub.add_parser("create-admin", help="create a user (admin by default)")
    ca.add_argument("username")
    ca.add_argument("--password", help="default: HALLWATCH_ADMIN_PASSWORD or prompt")
    ca.add_argument("--role", default="admin", choices=["admin", "supervisor", "inspector", "viewer"])
    ca.set_defaults(fn=cmd_create_admin)
    ce = sub.add_parser("create-edge", help="register an edge and print its API token (once)")
    ce.add_argument("hall")
    ce.add_argument("edge")
    ce.add_argument("--token-env", help="provision the token held in this environment variable instead of "
                    "generating one (idempotent)")
    ce.set_defaults(fn=cmd_create_edge)
    si = sub.add_parser("import-site", help="import site config files (idempotent)")
    si.add_argument("files", nargs="+")
    si.set_defaults(fn=cmd_import_site)
    rt = sub.add_parser("retention", help="delete evidence and readings past their retention (HALLWATCH_RETENTION_*)")
    rt.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
    rt.set_defaults(fn=cmd_retention)
    ma = sub.add_parser("mqtt-acl", help="write a Mosquitto password file, ACL and listener config from the edge "
                        "registry (each edge: its own credentials and topics)")
    ma.add_argument("--out", required=True, help="folder for passwd, acl and hallwatch-listener.conf")
    ma.add_argument("--port", type=int, default=1883, help="listener port in the generated config")
    ma.add_argument("--bind", default="0.0.0.0", help="listener address in the generated config")
    ma.add_argument("--certfile", help="TLS certificate (the listener then speaks MQTT over TLS)")
    ma.add_argument("--keyfile", help="TLS private key")
    ma.add_argument("--cafile", help="CA bundle for client certificates")
    ma.add_argument("--extra-read", action="append", default=[], metavar="PATTERN",
                    help="topic pattern every edge may also read (e.g. its sensor bridge: zigbee2mqtt/#)")
    ma.add_argument("--owner", type=_uid_gid, metavar="UID:GID",
                    help="give the files to the broker's user (e.g. 1883:1883 in the eclipse-mosquitto image)")
    ma.set_defaults(fn=cmd_mqtt_acl)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["run", *argv]
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.fn(args)
    except InsecureSettings as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
