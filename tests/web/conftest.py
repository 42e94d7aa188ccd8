"""Web fixtures: an app that needs no scanner (events are filed with the worker's own code), users of every
role, a TestClient, and for browser tests a real uvicorn server on 127.0.0.1 (port 0) driven by Chromium."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.web.helpers import make_users

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"


def _no_scanner():
    raise RuntimeError("the web tests do not scan")


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    """Still argon2, with test-sized cost parameters: production parameters take ~0.5 s per hash here."""
    from argon2 import PasswordHasher
    from service.services import accounts
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def app(settings, engine):
    from service.app import create_app
    return create_app(settings, engine=engine, scanner_factory=_no_scanner, run_background=False)


@pytest.fixture
def web(app):
    from fastapi.testclient import TestClient
    with TestClient(app) as c:
        yield c


@pytest.fixture
def users(engine) -> dict[str, int]:
    return make_users(engine)


@pytest.fixture
def live_server(app):
    """The app served by uvicorn in a thread; yields its base URL."""
    import uvicorn
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server, locale="zh-CN")
    pg = ctx.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs
    yield pg
    ctx.close()


def shot(page, name: str) -> None:
    """Save a full-page screenshot under tests/artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
