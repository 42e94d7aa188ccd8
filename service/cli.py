"""The `aew` command line: serve, worker, scan, ingest, users, apikeys, db, demo (+ NER commands)."""
from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="不良事件预警平台 — adverse-event warning service", no_args_is_help=True,
                  pretty_exceptions_enable=False)
users_app = typer.Typer(help="用户管理 / users", no_args_is_help=True)
keys_app = typer.Typer(help="API 密钥 / API keys for EMR systems", no_args_is_help=True)
db_app = typer.Typer(help="数据库 / database", no_args_is_help=True)
demo_app = typer.Typer(help="演示数据 / demo data", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志 / audit log", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="apikeys")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(audit_app, name="audit")


def _settings():
    from service.logging_setup import setup_logging
    from service.settings import Settings
    s = Settings()
    setup_logging(s.log_level, s.log_json)
    return s


def _engine(settings):
    from service.db import make_engine
    return make_engine(settings.database_url)


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="listen address"),
          port: int = typer.Option(8000, help="listen port"),
          no_worker: bool = typer.Option(False, "--no-worker",
                                         help="API only: no scan worker processes, no dispatcher or other loops"),
          migrate: bool = typer.Option(True, help="apply database migrations before starting"),
          workers: int = typer.Option(1, min=1, help="HTTP worker processes (each runs its own light loops)")):
    """Start the HTTP service, AEW_SCAN_WORKERS supervised scan worker processes and the dispatcher
    (API only with --no-worker)."""
    import os
    import uvicorn
    from service import supervisor
    from service.db import upgrade
    settings = _settings()
    if migrate:
        upgrade(settings.database_url)
    if no_worker:
        os.environ["AEW_RUN_BACKGROUND"] = "false"
    sup = None
    if not no_worker and settings.scan_workers > 0:
        sup = supervisor.current = supervisor.ScanSupervisor(settings.scan_workers).start()
    # uvicorn re-raises the SIGTERM it caught once it has shut down: end through `finally` rather than die there
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run("service.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_config=None, access_log=False)
    finally:
        if sup is not None:
            sup.stop()
            supervisor.current = None


@app.command()
def worker(threads: Optional[int] = typer.Option(None, help="scan threads in this process (default AEW_WORKER_THREADS)"),
           once: bool = typer.Option(False, help="process what is due, then exit")):
    """Run scan workers alone (any number of processes, on any machine sharing the database)."""
    from service.app import default_scanner_factory
    from service.supervisor import parent_gone, signal_ready
    from service.worker import Worker
    settings = _settings()
    engine = _engine(settings)
    factory = default_scanner_factory(settings)
    if once:
        w = Worker(engine=engine, settings=settings, scanner_factory=factory)
        total = 0
        while (n := w.run_once()):
            total += n
        typer.echo(f"processed {total} jobs")
        return
    stop = threading.Event()
    loading = [True]

    def on_signal(*_):      # while the models load there is nothing to finish: end at once
        stop.set()
        if loading[0]:
            sys.exit(0)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    from nlp.types import NoteInput
    # load the models, and run one scan for what loads on first use, before claiming work (a failure ends the
    # process: under `aew serve` the supervisor restarts it with backoff)
    factory().scan(NoteInput(id="warm-up", text="患者夜间如厕时跌倒，予头孢他啶2g静滴。"), ())
    loading[0] = False
    signal_ready()
    ts = [threading.Thread(target=Worker(engine=engine, settings=settings, scanner_factory=factory).run_forever,
                           args=(stop,), daemon=True) for _ in range(threads or settings.worker_threads)]
    for t in ts:
        t.start()
    while any(t.is_alive() for t in ts):
        if parent_gone():   # the `aew serve` that started this process died without stopping it
            stop.set()
        for t in ts:
            t.join(0.5)


def _read_notes(path: str):
    """Yield (line_no, NoteInput | None, error | None, raw_id) for each non-empty line of a JSONL file."""
    from nlp.types import InputError, NoteInput
    f = sys.stdin if path == "-" else open(path, encoding="utf-8")
    with f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                yield no, None, f"第 {no} 行不是合法 JSON / line {no} is not valid JSON: {e.msg}", None
                continue
            raw_id = d.get("id") if isinstance(d, dict) else None
            try:
                yield no, NoteInput.from_dict(d), None, raw_id
            except InputError as e:
                yield no, None, f"第 {no} 行: {e}", raw_id


def _open_out(output: Optional[str]):
    if output in (None, "-"):
        return sys.stdout, False
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    return open(output, "w", encoding="utf-8"), True


def _progress(total_hint: int | None):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.console import Console
    console = Console(stderr=True)
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, disable=not console.is_terminal)


def _count_lines(path: str) -> int | None:
    if path == "-":
        return None
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


@app.command()
def scan(input: str = typer.Argument(..., help="notes as JSON Lines ('-' = stdin)"),
         output: Optional[str] = typer.Option(None, "--output", "-o", help="findings JSONL ('-' = stdout)"),
         explain: bool = typer.Option(False, "--explain", help="also list candidates that context rules suppressed")):
    """Scan notes (scan contract): one output line per input line, in input order."""
    try:
        total = _count_lines(input)
        records = list(_read_notes(input))
    except (OSError, UnicodeDecodeError) as e:
        typer.echo(f"无法读取输入 / cannot read input: {e}", err=True)
        raise typer.Exit(2)
    from nlp.scanner import Scanner
    from service.settings import Settings
    settings = Settings()
    scanner = Scanner(settings.data_dir, use_ner_model=settings.use_ner_model, use_classifier=settings.use_classifier)
    results = scanner.scan_many(n for _, n, _, _ in records if n is not None)
    out, close = _open_out(output)
    bad = 0
    try:
        with _progress(total) as prog:
            task = prog.add_task("扫描 scan", total=total)
            for no, note, err, raw_id in records:
                if note is None:
                    bad += 1
                    line = {"note_id": raw_id, "error": err, "findings": []}
                else:
                    line = next(results).to_dict(explain=explain)
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                prog.advance(task)
    finally:
        if close:
            out.close()
        else:
            out.flush()
    raise typer.Exit(1 if bad else 0)


@app.command()
def ingest(input: str = typer.Argument(..., help="notes as JSON Lines (scan-contract input + source fields)"),
           url: Optional[str] = typer.Option(None, help="post to a running service (e.g. http://127.0.0.1:8000); default: write to the database"),
           api_key: Optional[str] = typer.Option(None, envvar="AEW_API_KEY", help="API key for --url"),
           source: str = typer.Option("import", help="source_system for notes that do not name one"),
           batch: int = typer.Option(200, min=1, max=500),
           state: Optional[str] = typer.Option(None, help="resume file (default INPUT.ingest-state)")):
    """Load notes in bulk with a progress bar; resumable (restarts after the last committed batch)."""
    from models import NoteCreate
    state_path = Path(state or (input + ".ingest-state"))
    done = int(state_path.read_text().strip() or 0) if state_path.exists() else 0
    with open(input, encoding="utf-8") as f:
        lines = [l for l in f if l.strip()]
    settings = _settings()
    sender = _http_sender(url, api_key) if url else _db_sender(settings, source)
    accepted = dup = bad = 0
    with _progress(len(lines)) as prog:
        task = prog.add_task("导入 ingest", total=len(lines), completed=done)
        for i in range(done, len(lines), batch):
            chunk = []
            for j, l in enumerate(lines[i:i + batch]):
                try:
                    d = json.loads(l)
                    d.setdefault("source_system", source)
                    chunk.append(NoteCreate.model_validate(d))
                except Exception as e:  # noqa: BLE001 — report the line and go on
                    bad += 1
                    typer.echo(f"第 {i + j + 1} 行无效 / line {i + j + 1} invalid: {e}", err=True)
            a, d_ = sender(chunk) if chunk else (0, 0)
            accepted, dup = accepted + a, dup + d_
            state_path.write_text(str(i + len(lines[i:i + batch])))
            prog.advance(task, len(lines[i:i + batch]))
    typer.echo(f"accepted={accepted} duplicates={dup} invalid={bad}")
    if bad:
        raise typer.Exit(1)


def _db_sender(settings, source):
    from service.db import session_scope
    from service.services.notes import ingest_note
    engine = _engine(settings)

    def send(chunk):
        a = d = 0
        with session_scope(engine) as s:
            for n in chunk:
                _, created = ingest_note(session=s, data=n, client_name=source, tz_name=settings.timezone)
                a, d = a + created, d + (not created)
        return a, d
    return send


def _http_sender(url, api_key):
    import httpx
    if not api_key:
        raise typer.BadParameter("--api-key (or AEW_API_KEY) is required with --url")
    client = httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"}, timeout=60)

    def send(chunk):
        body = {"notes": [n.model_dump(mode="json") for n in chunk]}
        for attempt in range(5):
            try:
                r = client.post("/api/v1/notes:batch", json=body)
            except httpx.TransportError:
                import time
                time.sleep(2 ** attempt)
                continue
            if r.status_code >= 500:
                continue
            if r.status_code != 202:
                raise typer.BadParameter(f"service answered {r.status_code}: {r.text[:500]}")
            j = r.json()
            return j["accepted"], j["duplicates"]
        raise RuntimeError("service unreachable after 5 attempts")
    return send


@users_app.command("create")
def users_create(username: str,
                 role: str = typer.Option(..., help="admin | quality_manager | department_reviewer | reporter"),
                 department: Optional[str] = typer.Option(None, help="department (required for department_reviewer)"),
                 full_name: Optional[str] = typer.Option(None),
                 dingtalk_staff_id: Optional[str] = typer.Option(None),
                 password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin")):
    """Create a user who can log in to the web pages."""
    from models import Role
    from service.db import session_scope
    from service.services.accounts import create_user
    if role not in Role.__members__:
        typer.echo(f"未知角色 / unknown role: {role}", err=True)
        raise typer.Exit(2)
    if not password_stdin:
        typer.echo("需要 --password-stdin / --password-stdin is required", err=True)
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\r\n")
    settings = _settings()
    try:
        with session_scope(_engine(settings)) as s:
            u = create_user(session=s, username=username, password=password, role=Role(role), department=department,
                            full_name=full_name, dingtalk_staff_id=dingtalk_staff_id, settings=settings)
            uid = u.id
    except ValueError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1)
    typer.echo(f"created user {username} (id {uid}, role {role})")


def _cli_audit(s, action: str, object_type: str, object_id, detail: dict) -> None:
    """Administrative commands are audited like the admin pages (actor cli:<OS user>)."""
    import getpass
    from service.services.audit import audit
    try:
        who = getpass.getuser()
    except Exception:  # noqa: BLE001 — no login name in a container
        who = "unknown"
    audit(session=s, actor=f"cli:{who}", action=action, object_type=object_type, object_id=object_id, detail=detail)


@users_app.command("list")
def users_list():
    """List users: name, role, department, state, live web sessions."""
    from sqlmodel import select
    from models import Department
    from models.base import utcnow
    from service.db import session_scope
    from service.services.accounts import list_users
    from service.services.sessions import active_session_counts
    settings = _settings()
    with session_scope(_engine(settings)) as s:
        deps = {d.id: d.name for d in s.exec(select(Department)).all()}
        live = active_session_counts(session=s)
        now = utcnow()
        typer.echo(f"{'id':>4}  {'username':<20} {'role':<20} {'department':<12} {'state':<10} sessions")
        for u in list_users(session=s):
            state = ("inactive" if not u.is_active else "locked" if u.locked_until and u.locked_until > now
                     else "change-pw" if u.must_change_password else "active")
            typer.echo(f"{u.id:>4}  {u.username:<20} {u.role.value:<20} {deps.get(u.department_id, '-'):<12} "
                       f"{state:<10} {live.get(u.id, 0)}")


def _user_or_exit(s, name_or_id: str):
    from service.services.accounts import find_user
    u = find_user(session=s, name_or_id=name_or_id)
    if u is None:
        typer.echo(f"没有该用户 / no such user: {name_or_id}", err=True)
        raise typer.Exit(1)
    return u


def _set_user_active(user: str, active: bool) -> None:
    from service.db import session_scope
    from service.services.accounts import set_active
    verb = "reactivate" if active else "deactivate"
    with session_scope(_engine(_settings())) as s:
        u = _user_or_exit(s, user)
        set_active(session=s, user=u, active=active)
        _cli_audit(s, f"user_{verb}", "user", u.id, {"username": u.username})
        typer.echo(f"{verb}d {u.username}")


@users_app.command("deactivate")
def users_deactivate(user: str = typer.Argument(..., help="user name or id")):
    """Deactivate a user; their web sessions end at once."""
    _set_user_active(user, False)


@users_app.command("reactivate")
def users_reactivate(user: str = typer.Argument(..., help="user name or id")):
    """Let a deactivated user log in again."""
    _set_user_active(user, True)


@users_app.command("reset-password")
def users_reset_password(user: str = typer.Argument(..., help="user name or id")):
    """Set a one-time password (printed once, alone on the last line) that must be changed at the next login;
    ends the user's sessions and lifts a lock."""
    from service.db import session_scope
    from service.services.accounts import reset_password
    settings = _settings()
    with session_scope(_engine(settings)) as s:
        u = _user_or_exit(s, user)
        password = reset_password(session=s, user=u)
        _cli_audit(s, "user_reset_password", "user", u.id, {"username": u.username})
        name = u.username
    typer.echo(f"one-time password for {name} (must be changed at the next login):")
    typer.echo(password)


@keys_app.command("create")
def apikeys_create(name: str, expires: Optional[str] = typer.Option(None, help="last day the key works (YYYY-MM-DD)")):
    """Create an API key for an EMR system; the key is printed once, alone on the last line."""
    from datetime import date, datetime, time
    from zoneinfo import ZoneInfo
    from service.db import session_scope
    from service.services.accounts import create_api_client
    settings = _settings()
    expires_at = None
    if expires:
        try:
            expires_at = datetime.combine(date.fromisoformat(expires), time(23, 59, 59), ZoneInfo(settings.timezone))
        except ValueError:
            typer.echo(f"日期格式应为 YYYY-MM-DD / --expires must be YYYY-MM-DD: {expires}", err=True)
            raise typer.Exit(2)
    try:
        with session_scope(_engine(settings)) as s:
            client, key = create_api_client(session=s, name=name, expires_at=expires_at)
            _cli_audit(s, "apikey_created", "apikey", client.id, {"name": name, "prefix": client.key_prefix})
    except ValueError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1)
    typer.echo(f"API key for {name} (stored hashed; copy it now):")
    typer.echo(key)


@keys_app.command("list")
def apikeys_list():
    """List API keys: id, name, prefix, state, created, last used, expiry (never the keys)."""
    from models.base import utcnow
    from service.db import session_scope
    from service.services.accounts import list_api_clients
    settings = _settings()

    def t(v):
        return v.strftime("%Y-%m-%d %H:%M") if v else "-"
    with session_scope(_engine(settings)) as s:
        now = utcnow()
        typer.echo(f"{'id':>4}  {'name':<24} {'prefix':<12} {'state':<8} {'created':<16}  {'last used':<16}  expires")
        for c in list_api_clients(session=s):
            state = ("revoked" if c.revoked_at else "disabled" if not c.is_active
                     else "expired" if c.expires_at and c.expires_at <= now else "active")
            typer.echo(f"{c.id:>4}  {c.name:<24} {c.key_prefix:<12} {state:<8} {t(c.created_at):<16}  "
                       f"{t(c.last_used_at):<16}  {t(c.expires_at)}")


@keys_app.command("revoke")
def apikeys_revoke(name_or_id: str = typer.Argument(..., help="the key's name or id (see `aew apikeys list`)")):
    """Revoke a key: its next request gets 401, whichever process serves it."""
    from service.db import session_scope
    from service.services.accounts import find_api_client, revoke_api_client
    settings = _settings()
    with session_scope(_engine(settings)) as s:
        client = find_api_client(session=s, name_or_id=name_or_id)
        if client is None:
            typer.echo(f"没有该密钥 / no such API key: {name_or_id}", err=True)
            raise typer.Exit(1)
        revoke_api_client(session=s, client=client, by="cli")
        _cli_audit(s, "apikey_revoked", "apikey", client.id, {"name": client.name, "prefix": client.key_prefix})
        typer.echo(f"revoked {client.name} (id {client.id})")


@audit_app.command("verify")
def audit_verify():
    """Check the audit log's hash chain; exit 1 and name the first broken entry if any was edited or deleted."""
    from service.db import session_scope
    from service.services.audit import verify_audit_log
    settings = _settings()
    with session_scope(_engine(settings)) as s:
        rep = verify_audit_log(session=s)
    if rep.ok:
        typer.echo(f"audit log intact: {rep.checked} chained entries"
                   + (f" ({rep.unchained} older entries before the chain)" if rep.unchained else ""))
        return
    typer.echo(f"audit log BROKEN at entry id {rep.broken_id}: {rep.reason} "
               f"({rep.checked} entries before it verified)")
    raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads")):
    """Apply database migrations."""
    from service.db import upgrade
    settings = _settings()
    upgrade(settings.database_url, revision)
    typer.echo("database is up to date")


@demo_app.command("load")
def demo_load():
    """Load demo users, an API key and synthetic demo notes (idempotent)."""
    from service.demo import load_demo
    settings = _settings()
    for line in load_demo(engine=_engine(settings), settings=settings):
        typer.echo(line)


@app.command("eval-reports")
def eval_reports(sets: list[str] = typer.Argument(..., help="report messages as JSON Lines (id, text, sent_at, gold)")):
    """Evaluate the DingTalk bot on report messages (category, bed, department, hour, questions, drops)."""
    import logging
    import os
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.disable(logging.WARNING)
    from service.dingtalk.evaluation import report
    typer.echo(report(list(sets)))


@app.command("dingtalk-sweep")
def dingtalk_sweep():
    """File DingTalk report drafts nobody completed in time into the queue, marked 待补充 (for cron)."""
    from service.db import session_scope
    from service.dingtalk.drafts import file_stale_drafts
    from service.dingtalk.keywords import category_labels
    from service.dingtalk.settings import DingTalkSettings
    from models.base import utcnow
    settings = _settings()
    dt = DingTalkSettings()
    with session_scope(_engine(settings)) as s:
        filed = file_stale_drafts(session=s, ttl_hours=dt.dingtalk_draft_ttl_hours, settings=settings, now=utcnow(),
                                  data_dir=str(settings.data_dir), labels=category_labels(str(settings.data_dir)))
        typer.echo(f"filed {len(filed)} incomplete draft(s): {' '.join(f'#{e.id}' for e in filed)}".rstrip(": "))


def _register_optional() -> None:
    modnames = ["nlp.ner.commands", "nlp.classifier.commands", "service.dingtalk_cli"]
    if _invoked_command() == "serve":
        # the model commands import torch and spaCy (~150 MB resident); the API process of `aew serve` never
        # runs them and scans in its worker processes, so it leaves them out
        modnames = [m for m in modnames if not m.startswith("nlp.")]
    for modname in modnames:
        try:
            mod = __import__(modname, fromlist=["register"])
        except ModuleNotFoundError as e:
            if e.name and modname.startswith(e.name):
                continue
            raise
        mod.register(app)


def _invoked_command() -> str | None:
    """The subcommand named on the command line (the first word that is not an option), if any."""
    words = [a for a in sys.argv[1:] if not a.startswith("-")]
    return words[0] if words else None


_register_optional()

if __name__ == "__main__":
    app()
