"""Shared pieces for tests that run the real server and a real browser."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any, Callable

from tests.conftest import free_port, need, wait_port

CHROMIUM = os.environ.get("HALLWATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


def playwright_api() -> tuple[Any, Any]:
    """(expect, sync_playwright) of the Python playwright package; a clear skip/failure when it is missing."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        need(False, "python package 'playwright' not installed")
    return expect, sync_playwright


def fresh_artifacts(path: Path) -> Path:
    """An empty folder for a test's screenshots and downloads (test-artifacts/ is gitignored)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def launch_chromium(pw: Any) -> Any:
    """Debian's chromium driven by Playwright (its own browser download does not work offline)."""
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} missing (apt-get install -y chromium; .ci/system-deps does it)")
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


class LiveServer:
    """A FastAPI app under uvicorn in a thread on a fixed free port; start/stop/start again (a new app each
    start when ``make_app`` builds one) to simulate a server restart."""

    def __init__(self, make_app: Callable[[], Any], port: int | None = None) -> None:
        self.make_app, self.port = make_app, port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> "LiveServer":
        import uvicorn

        config = uvicorn.Config(self.make_app(), host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        assert wait_port("127.0.0.1", self.port, 30), "server did not start"
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(30)
        assert not self._thread.is_alive(), "server did not stop"
        self._server = self._thread = None


def wait_js(page: Any, expression: str, timeout_ms: float = 60000) -> None:
    """Wait until a page expression (or function) is truthy. Polls ``page.evaluate``, which runs outside the page's
    Content-Security-Policy; ``page.wait_for_function`` evaluates strings inside the page, which the console's
    CSP (no 'unsafe-eval') refuses."""
    from tests.conftest import wait_for

    wait_for(lambda: page.evaluate(expression), f"page condition {expression[:80]!r}", timeout=timeout_ms / 1000)
