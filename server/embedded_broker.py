"""An MQTT broker in Python for machines without Mosquitto (``make demo`` falls back to it).

amqtt (MQTT 3.1.1) with its session database plugin: persistent sessions (clean_session=False), their
subscriptions and queued QoS 1 messages, and retained messages survive a broker restart because they are
stored in SQLite and not cleared on shutdown. amqtt has no shared subscriptions, so the server must
subscribe without ``$share`` over MQTT 3.1.1 when it uses this broker (HALLWATCH_MQTT_SHARE_GROUP="",
HALLWATCH_MQTT_PROTOCOL=3.1.1; the demo sets both).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from amqtt.plugins.base import BaseAuthPlugin

log = logging.getLogger(__name__)


class LocalAuthPlugin(BaseAuthPlugin):
    """Accept every client of this loopback-only broker *without* marking it anonymous: amqtt queues no
    QoS 1 messages for anonymous sessions, which would break persistent sessions of clients without a user."""

    async def authenticate(self, *, session) -> bool:  # noqa: ANN001
        return True


def broker_config(host: str, port: int, data_dir: Path) -> dict:
    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 200}},
        "plugins": {
            f"{__name__}.LocalAuthPlugin": {},
            "amqtt.contrib.persistence.SessionDBPlugin": {
                "connection": f"sqlite+aiosqlite:///{data_dir / 'sessions.db'}",
                "clear_on_shutdown": False,
            },
        },
    }


class EmbeddedBroker:
    """Runs the broker on its own event loop thread; ``start()`` returns once it listens."""

    def __init__(self, host: str, port: int, data_dir: Path):
        self.host, self.port, self.data_dir = host, port, Path(data_dir)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 15.0) -> None:
        self._thread = threading.Thread(target=self._run, name="embedded-mqtt-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("embedded MQTT broker did not start in time")
        if self._error is not None:
            raise RuntimeError(f"embedded MQTT broker failed to start: {self._error}") from self._error

    def _run(self) -> None:
        from amqtt.broker import Broker

        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)

        async def boot() -> None:
            self._broker = Broker(broker_config(self.host, self.port, self.data_dir))
            await self._broker.start()

        try:
            self._loop.run_until_complete(boot())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()
            return
        log.info("embedded MQTT broker listening on %s:%d (sessions in %s)", self.host, self.port, self.data_dir)
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is None or self._broker is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        try:
            fut.result(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout)
