"""Server settings from the environment (prefix ``HALLWATCH_``).

Zero configuration works: SQLite under ``data/server``, MQTT on 127.0.0.1:1883, development mode
(a random secret kept in the data directory, a default ``admin``/``admin`` account when no user
exists). ``HALLWATCH_MODE=production`` refuses every insecure default instead (see :meth:`Settings.check`).
"""

from __future__ import annotations

import hashlib
import socket
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

WEAK_PASSWORDS = {"admin", "password", "123456", "12345678", "hallwatch", "changeme", "admin123"}


class InsecureSettings(RuntimeError):
    """Production mode refused to start; ``problems`` lists why."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("refusing to start in production mode: " + "; ".join(problems))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HALLWATCH_", extra="forbid", env_file=None)

    mode: Literal["development", "production"] = Field(
        default="development", description="production refuses insecure defaults (secret, admin password)."
    )
    data_dir: Path = Field(default=Path("data/server"), description="Folder for the SQLite file, secret and evidence.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/hallwatch.db."
    )
    evidence_dir: Path | None = Field(default=None, description="Evidence store folder; default <data_dir>/evidence.")
    evidence_max_bytes: int = Field(default=64 * 1024 * 1024, gt=0, description="Largest evidence file accepted.")
    secret_key: str | None = Field(
        default=None, description="Signs login tokens. Required in production; development keeps a random one."
    )
    token_ttl_s: int = Field(default=12 * 3600, gt=0, description="Lifetime of a login token in seconds.")
    admin_user: str | None = Field(default=None, description="Initial admin user name, created at start if missing.")
    admin_password: str | None = Field(default=None, description="Initial admin password (with admin_user).")

    mqtt_enabled: bool = Field(default=True, description="Run the MQTT consumer in the app lifespan.")
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", description="Broker URL mqtt://[user:pass@]host:port "
                          "(mqtts:// for TLS).")
    mqtt_topic_prefix: str = Field(default="hallwatch", description="First topic level of HallWatch topics.")
    mqtt_share_group: str = Field(
        default="hallwatch-server", description="Shared-subscription group; server processes in it split the load. "
        "Empty: a plain subscription (one server process; brokers without shared subscriptions)."
    )
    mqtt_protocol: Literal["5", "3.1.1"] = Field(
        default="5", description="MQTT protocol: 5 (session expiry, shared subscription) or 3.1.1 for brokers "
        "without MQTT 5 such as the embedded Python broker; 3.1.1 keeps the session with clean_session=False.",
    )
    mqtt_client_id: str | None = Field(
        default=None,
        description="Fixed client id of this process (persistent session). Default: host name + data dir hash; "
        "give each server process its own.",
    )
    mqtt_session_expiry_s: int = Field(default=3600, ge=0, description="Broker keeps the session this long offline.")

    site_configs: str = Field(
        default="", description="Site config files imported at start, separated by ':' or ','."
    )
    edge_tokens: str = Field(
        default="", description="Edge tokens provisioned at start from secrets in the environment: "
        "'hall/edge=token' entries separated by ','. Tokens of other edges are issued by `create-edge`."
    )
    run_migrations: bool = Field(default=True, description="Apply Alembic migrations (upgrade heads) at start.")
    sensor_reading_retention_days: float = Field(default=14, gt=0, description="Sensor readings older are pruned.")
    cors_origins: list[str] = Field(default_factory=list, description="Allowed CORS origins (none by default).")

    # retention (server.retention): one group for every age limit; README "Retention" gives the reasons
    retention_evidence_days: float = Field(
        default=120, gt=0, description="Evidence files (snapshots, clips, charts, photos) older than this are deleted, "
        "except those a signed quarter or a pending appeal relies on.")
    retention_archive_days: float = Field(
        default=1096, gt=0, description="A signed quarter keeps the evidence it relies on this long after the "
        "quarter's end (the hall's archive period for assessment records).")
    retention_interval_s: float = Field(default=3600, gt=0, description="Seconds between retention passes.")
    retention_enabled: bool = Field(default=True, description="Run the periodic retention job in the app.")

    # people (server.people): appeals, pauses, integrations
    appeal_window_days: float = Field(
        default=7, gt=0, description="A clerk may appeal a confirmed finding this many days after its confirmation.")
    people_background: bool = Field(
        default=True, description="Run the people loops in the app (retention, notification delivery, pause "
        "republishing, Home Assistant discovery).")
    public_url: str | None = Field(default=None, description="Base URL of the console (e.g. "
                                   "https://hallwatch.example.gov.cn) for links in notifications.")
    notify_interval_s: float = Field(default=5, gt=0, description="Seconds between notification delivery passes.")
    notify_max_attempts: int = Field(default=8, ge=1, description="Attempts before a notification is given up.")
    ha_discovery: bool = Field(default=False, description="Publish Home Assistant MQTT discovery for windows, open "
                               "alerts and the last safety check.")
    ha_discovery_prefix: str = Field(default="homeassistant", pattern=r"^[A-Za-z0-9_\-/]+$",
                                     description="Home Assistant's discovery prefix.")
    ha_state_prefix: str = Field(default="hallwatch/ha", pattern=r"^[A-Za-z0-9_\-/]+$",
                                 description="Topic prefix of the states, attributes and availability HallWatch "
                                 "publishes for Home Assistant.")
    ha_interval_s: float = Field(default=15, gt=0, description="Seconds between Home Assistant state passes.")

    # feedback (server.feedback): labelled crops from the supervisors' decisions
    feedback_crop_days: float = Field(
        default=180, gt=0, description="Crops of feedback samples (pictures of staff at their seats) older than this "
        "are deleted; the label and the cue values stay (they hold no picture and still tune thresholds).")

    # security (README "Security")
    signoff_key: str | None = Field(
        default=None, description="HMAC key sealing signed assessment sheets; default derived from the secret key. "
        "Keep it apart from the database: whoever holds it can re-seal an edited sheet. Production: 32+ characters.")
    metrics_token: str | None = Field(
        default=None, description="Bearer token required by /metrics. Unset: /metrics answers only clients on "
        "metrics_allow (loopback by default); production refuses to start with neither narrowed.")
    metrics_allow: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Client addresses /metrics answers without the token ('*' = everyone).")
    login_max_failures: int = Field(default=5, ge=1, description="Failed logins per user name or per address "
                                    "within login_window_s before that name or address is locked out.")
    login_window_s: float = Field(default=900, gt=0, description="Window in which failed logins are counted.")
    login_lockout_s: float = Field(default=900, gt=0, description="How long a locked user name or address waits.")
    mqtt_ca_file: str | None = Field(default=None, description="CA bundle checking the broker's certificate "
                                     "when HALLWATCH_MQTT_URL is mqtts:// (default: the system's CAs).")
    trusted_origins: list[str] = Field(
        default_factory=list, description="Extra origins (scheme://host[:port]) whose cookie-authenticated writes "
        "are accepted besides the server's own (e.g. a reverse proxy's public URL).")

    # scale (server.ingest, server.live): batched ingest, clock skew, live events across processes
    ingest_max_clock_skew_s: float = Field(
        default=300, gt=0, description="Edge messages stamped (sent_at, at, since, …) further ahead of the server "
        "clock than this are rejected (future_time); stored stamps beyond it never freeze live state.")
    window_state_retention_days: float = Field(
        default=90, gt=0, description="Window state history older than this is deleted (whole day partitions on "
        "PostgreSQL); sensor readings follow sensor_reading_retention_days.")
    regions_config: str = Field(default="", description="Regions file (city → county → township tree with each "
                                "region's halls) imported at start; see configs/regions-example.yaml.")
    live_events: Literal["auto", "local", "postgresql"] = Field(
        default="auto", description="How live console events reach users on other server processes: postgresql "
        "(LISTEN/NOTIFY on the database), local (this process only), auto (postgresql when the database is).")
    ingest_batch_max: int = Field(default=1000, ge=1, description="Most MQTT messages applied in one transaction.")
    ingest_batch_wait_ms: float = Field(
        default=20, ge=0, description="How long the MQTT consumer waits to fill a batch after its first message.")
    ingest_stuck_after_s: float = Field(
        default=60, gt=0, description="/healthz reports the MQTT consumer stuck (503) when a received message "
        "has waited this long without being acknowledged.")
    ingest_bulk_process: bool = Field(
        default=False, description="Apply the bulk MQTT lane (window states, sensor readings, heartbeats, status) "
        "in a worker process of its own, on a second core; findings and the console keep this process. Needs "
        "PostgreSQL (its live events reach the consoles by LISTEN/NOTIFY).")

    # ------------------------------------------------------------------ derived
    @property
    def provisioned_edge_tokens(self) -> list[tuple[str, str, str]]:
        """(hall, edge, token) entries of ``edge_tokens``; a malformed entry is a startup error."""
        out = []
        for entry in filter(None, (e.strip() for e in self.edge_tokens.split(","))):
            ref, sep, token = entry.partition("=")
            hall, slash, edge = ref.partition("/")
            if not (sep and slash and hall and edge and token):
                raise ValueError(f"HALLWATCH_EDGE_TOKENS entry {ref!r} is not 'hall/edge=token'")
            out.append((hall, edge, token))
        return out

    @cached_property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hallwatch.db').resolve()}"

    @property
    def evidence_path(self) -> Path:
        return (self.evidence_dir or self.data_dir / "evidence").resolve()

    @property
    def site_config_files(self) -> list[Path]:
        return [Path(p.strip()) for p in self.site_configs.replace(",", ":").split(":") if p.strip()]

    @property
    def client_id(self) -> str:
        if self.mqtt_client_id:
            return self.mqtt_client_id
        tag = hashlib.sha1(str(self.data_dir.resolve()).encode()).hexdigest()[:8]
        return f"hallwatch-server-{socket.gethostname()}-{tag}"[:64]

    @property
    def mqtt_host_port(self) -> tuple[str, int, str | None, str | None]:
        u = urlparse(self.mqtt_url)
        return u.hostname or "127.0.0.1", u.port or (8883 if self.mqtt_tls else 1883), u.username, u.password

    @property
    def mqtt_tls(self) -> bool:
        return urlparse(self.mqtt_url).scheme == "mqtts"

    @property
    def production(self) -> bool:
        return self.mode == "production"

    def effective_secret(self) -> str:
        """The signing secret; in development a random one persisted under data_dir."""
        if self.secret_key:
            return self.secret_key
        if self.production:
            raise InsecureSettings(["HALLWATCH_SECRET_KEY is not set"])
        import secrets

        f = self.data_dir / "secret_key"
        if f.is_file():
            return f.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        f.write_text(key)
        f.chmod(0o600)
        return key

    def effective_signoff_key(self) -> str:
        """The sealing key of signed sheets: ``signoff_key``, else one derived from the signing secret."""
        if self.signoff_key:
            return self.signoff_key
        import hmac

        return hmac.new(self.effective_secret().encode(), b"hallwatch-signoff-seal", hashlib.sha256).hexdigest()

    def check(self) -> None:
        """Raise InsecureSettings in production mode when a default would be insecure."""
        if not self.production:
            return
        problems: list[str] = []
        if not self.secret_key or len(self.secret_key) < 32:
            problems.append("HALLWATCH_SECRET_KEY must be set to at least 32 characters")
        if self.admin_password is not None and (
            self.admin_password.lower() in WEAK_PASSWORDS or len(self.admin_password) < 10
        ):
            problems.append("HALLWATCH_ADMIN_PASSWORD is a default/weak password (need >= 10 characters)")
        if self.signoff_key is not None and (len(self.signoff_key) < 32 or self.signoff_key == self.secret_key):
            problems.append("HALLWATCH_SIGNOFF_KEY must be at least 32 characters and differ from the secret key")
        if not self.metrics_token and "*" in self.metrics_allow:
            problems.append("/metrics is open to every address: set HALLWATCH_METRICS_TOKEN or narrow "
                            "HALLWATCH_METRICS_ALLOW")
        if bool(self.admin_user) != bool(self.admin_password):
            problems.append("set both HALLWATCH_ADMIN_USER and HALLWATCH_ADMIN_PASSWORD, or neither")
        if problems:
            raise InsecureSettings(problems)
