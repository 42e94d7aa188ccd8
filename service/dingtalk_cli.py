"""`aew dingtalk-stream`: receive robot messages (and approval events) over DingTalk Stream mode."""
from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("dingtalk-stream")(dingtalk_stream)


def dingtalk_stream(approvals: bool = typer.Option(True, help="also handle approval-form events (bpms_instance_change)"),
                    migrate: bool = typer.Option(False, help="apply database migrations first")):
    """Connect to DingTalk in Stream mode (no public address needed) and file reports from the robot."""
    import asyncio
    import signal
    import threading

    from service.app import default_scanner_factory
    from service.cli import _engine, _settings
    from service.db import upgrade
    from service.dingtalk.approval import ApprovalFetcher
    from service.dingtalk.bot import BotContext
    from service.dingtalk.settings import DingTalkSettings
    from service.dingtalk.stream import build_client

    settings = _settings()
    dt = DingTalkSettings()
    if not (dt.dingtalk_app_key and dt.dingtalk_app_secret):
        typer.echo("需要 AEW_DINGTALK_APP_KEY 和 AEW_DINGTALK_APP_SECRET / "
                   "AEW_DINGTALK_APP_KEY and AEW_DINGTALK_APP_SECRET are required", err=True)
        raise typer.Exit(2)
    if migrate:
        upgrade(settings.database_url)
    engine = _engine(settings)
    ctx = BotContext(settings=settings, dt=dt, scanner_factory=default_scanner_factory(settings))
    fetch = ApprovalFetcher(api_base=dt.dingtalk_api_base, app_key=dt.dingtalk_app_key,
                            app_secret=dt.dingtalk_app_secret) if approvals else None
    client = build_client(engine=engine, ctx=ctx, fetch=fetch)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo(f"DingTalk Stream: connecting via {dt.dingtalk_openapi_endpoint} (Ctrl-C to stop)", err=True)
    asyncio.run(client.run(stop))
