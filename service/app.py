"""The FastAPI application factory. Nothing is built at import time."""
from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from typing import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from service import edge, openapi
from service.db import make_engine
from service.metrics import Metrics
from service.settings import Settings, get_settings

log = logging.getLogger("aew.app")


def default_scanner_factory(settings: Settings) -> Callable:
    """A factory returning the process-wide Scanner, loaded once on first use."""
    lock = threading.Lock()
    holder: dict = {}

    def factory():
        if "scanner" not in holder:
            with lock:
                if "scanner" not in holder:
                    from nlp.scanner import Scanner
                    holder["scanner"] = Scanner(settings.data_dir, use_ner_model=settings.use_ner_model,
                                                use_classifier=settings.use_classifier)
        return holder["scanner"]
    factory.loaded = lambda: "scanner" in holder  # type: ignore[attr-defined]
    return factory


class Background:
    """Light loops that run beside the API: the outbox dispatcher, escalation, the DingTalk draft sweep.

    Scanning is not one of them: it runs in worker processes (`aew worker`, or the ones `aew serve` supervises,
    see service/supervisor.py), never in a thread of the API, whose interpreter lock it would hold."""

    def __init__(self):
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, name: str, target: Callable[[threading.Event], None]) -> None:
        t = threading.Thread(target=target, args=(self.stop,), name=name, daemon=True)
        t.start()
        self.threads.append(t)

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout)


def start_background(app: FastAPI) -> Background:
    bg = Background()
    for name, target in _extra_background(app):
        bg.start(name, target)
    return bg


def _extra_background(app: FastAPI):
    """Loops contributed by other packages (outbox dispatcher, deadline escalation, DingTalk draft sweep)."""
    hooks = _dingtalk_loops(app)
    try:
        from notifications.runtime import background_loops
    except ImportError:
        return hooks
    return background_loops(app) + hooks


def _dingtalk_loops(app: FastAPI):
    """The sweep that files DingTalk drafts nobody completed, every AEW_DINGTALK_DRAFT_SWEEP_SECONDS (0 = off)."""
    try:
        from service.dingtalk.drafts import DraftSweeper, DraftSweepSettings
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("service.dingtalk"):
            return []
        raise
    st = app.state
    sweep = DraftSweepSettings()
    dt = getattr(st, "dingtalk_settings", None) or sweep
    if sweep.dingtalk_draft_sweep_seconds <= 0:
        log.info("DingTalk draft sweep disabled (AEW_DINGTALK_DRAFT_SWEEP_SECONDS=0)")
        return []
    sweeper = DraftSweeper(engine=st.engine, settings=st.settings, ttl_hours=dt.dingtalk_draft_ttl_hours,
                           poll_seconds=sweep.dingtalk_draft_sweep_seconds)
    st.dingtalk_draft_sweeper = sweeper
    return [("dingtalk-draft-sweep", sweeper.run_forever)]


def create_app(settings: Settings | None = None, *, run_background: bool = True,
               scanner_factory: Callable | None = None, engine=None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        bg = start_background(app) if run_background else None
        app.state.background = bg
        try:
            yield
        finally:
            if bg:
                bg.shutdown()

    app = FastAPI(title="不良事件预警平台 API", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.scanner_factory = scanner_factory or default_scanner_factory(settings)
    app.state.metrics = Metrics(app.state.engine)
    from service.routers import api
    app.include_router(api.router)
    _include_optional_routers(app)

    @app.get("/healthz", tags=["ops"])
    def healthz():
        db_ok, err = True, None
        try:
            with app.state.engine.connect() as c:
                c.execute(text("SELECT 1"))
        except Exception as e:  # noqa: BLE001
            db_ok, err = False, repr(e)
        body = {"database": db_ok, **_scanner_health(app)}
        body = {"status": "ok" if db_ok and body["model_loaded"] else "degraded", **body}
        if err:
            body["error"] = err
        return JSONResponse(status_code=200 if db_ok else 503, content=body)

    @app.get("/metrics", tags=["ops"])
    def metrics():
        return PlainTextResponse(app.state.metrics.render(), media_type="text/plain; version=0.0.4")

    openapi.install(app)
    edge.install(app)       # last: its middleware is the outermost
    return app


def _scanner_health(app: FastAPI) -> dict:
    """model_loaded: a supervised scan worker of this `aew serve` has its scanner loaded (then also how many are
    configured, alive, ready, and restarted so far); without supervised workers, this process's own scanner
    (loaded on the first POST /api/v1/scan)."""
    from service import supervisor
    sup = supervisor.current
    if sup is not None:
        st = sup.status()
        return {"model_loaded": st["ready"] > 0, "scan_workers": st}
    return {"model_loaded": getattr(app.state.scanner_factory, "loaded", lambda: True)()}


def _include_optional_routers(app: FastAPI) -> None:
    """Routers of the web pages and DingTalk callbacks, mounted when their packages are present."""
    import importlib
    for modname in ("service.routers.web", "service.routers.dingtalk", "service.routers.admin_notifications"):
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as e:
            if e.name == modname:
                continue
            raise
        if hasattr(mod, "setup"):
            mod.setup(app)
        else:
            app.include_router(mod.router)


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (used by `aew serve`, one call per worker process)."""
    import os
    from service.logging_setup import setup_logging
    settings = get_settings()
    setup_logging(settings.log_level, settings.log_json)
    return create_app(settings, run_background=os.environ.get("AEW_RUN_BACKGROUND", "true").lower() != "false")
