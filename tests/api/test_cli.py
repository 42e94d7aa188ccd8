"""The `aew` command line: scan contract, apikeys, users, db upgrade, serve end to end over real HTTP."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
AEW = [sys.executable, "-m", "service.cli"]


def run(args, env=None, input=None, check=True):
    p = subprocess.run(AEW + args, cwd=ROOT, env={**os.environ, "AEW_LOG_JSON": "false", **(env or {})},
                       input=input, capture_output=True, text=True, timeout=300)
    if check and p.returncode not in (0, 1):
        raise AssertionError(p.stdout + p.stderr)
    return p


def test_scan_follows_the_contract(tmp_path):
    inp = tmp_path / "in.jsonl"
    lines = [
        {"id": "a", "text": "患者夜间如厕时不慎跌倒，右髋部疼痛", "note_type": "护理记录"},
        "this is not json",
        {"id": "c"},
        {"id": "d", "text": "否认跌倒史。", "note_type": "入院记录"},
    ]
    inp.write_text("\n".join(l if isinstance(l, str) else json.dumps(l, ensure_ascii=False) for l in lines) + "\n",
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    p = run(["scan", str(inp), "--output", str(out), "--explain"])
    assert p.returncode == 1, p.stderr      # some lines were bad
    res = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert [r.get("note_id") for r in res] == ["a", None, "c", "d"]
    assert "error" in res[1] and "error" in res[2]
    f = next(f for f in res[0]["findings"] if f["category"] == "fall")
    assert lines[0]["text"][f["start"]:f["end"]] == f["evidence"]
    for key in ("kind", "category", "severity", "start", "end", "evidence", "confidence", "rule", "explanation", "context"):
        assert key in f
    assert res[3]["findings"] == [] and res[3]["suppressed"], "the negated fall is listed as suppressed"
    assert run(["scan", str(tmp_path / "missing.jsonl")], check=False).returncode == 2


def test_apikeys_and_users(tmp_path):
    env = {"AEW_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    assert run(["db", "upgrade"], env).returncode == 0
    p = run(["apikeys", "create", "his"], env)
    assert p.returncode == 0 and p.stdout.strip().splitlines()[-1].startswith("aew_")
    assert run(["apikeys", "create", "his"], env, check=False).returncode == 1
    p = run(["users", "create", "qm", "--role", "quality_manager", "--password-stdin"], env, input="secret-pass-1\n")
    assert p.returncode == 0, p.stderr
    p = run(["users", "create", "rv", "--role", "department_reviewer", "--password-stdin"], env, input="secret-pass-1\n",
            check=False)
    assert p.returncode == 1 and "department" in p.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_end_to_end_over_http(tmp_path, db_url):
    from tests.conftest import empty_database_url
    env = {"AEW_DATABASE_URL": empty_database_url(db_url, tmp_path, "e2e"), "AEW_WORKER_POLL_SECONDS": "0.05"}
    run(["db", "upgrade"], env)
    key = run(["apikeys", "create", "his"], env).stdout.strip().splitlines()[-1]
    port = _free_port()
    srv = subprocess.Popen(AEW + ["serve", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                           env={**os.environ, "AEW_LOG_JSON": "false", **env})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).json().get("model_loaded"):
                    break
            except httpx.TransportError:
                pass
            assert time.time() < deadline and srv.poll() is None, "service did not start"
            time.sleep(0.3)
        h = {"Authorization": f"Bearer {key}"}
        r = httpx.post(base + "/api/v1/notes", headers=h, json={
            "id": "e2e-1", "text": "患者夜间如厕时不慎跌倒，右髋部疼痛", "encounter_id": "E1", "department": "骨科"})
        assert r.status_code == 202
        deadline = time.time() + 30
        while not (events := httpx.get(base + "/api/v1/events", headers=h).json()):
            assert time.time() < deadline, "no event within 30 s"
            time.sleep(0.1)
        assert events[0]["category"] == "fall"
    finally:
        srv.terminate()
        srv.wait(30)
