"""Validation at the edge: the inputs that used to end in a 500 now get a clear 4xx in the project's shape."""
import json
import time

import pytest

from tests.api.test_ingest import FALL, note

BIG = 2**31  # beyond the INTEGER primary keys of SQLite and PostgreSQL


def _is_project_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:300])
    d = r.json()["detail"]
    assert {"code", "message", "message_zh", "message_en"} <= set(d), d
    if code:
        assert d["code"] == code, d
    return d


@pytest.mark.parametrize("path", [f"/api/v1/notes/{BIG}", f"/api/v1/events/{BIG}", f"/api/v1/notes/{2**64}",
                                  "/api/v1/notes/0", "/api/v1/events/-1"])
def test_ids_beyond_the_database_range_are_4xx(client, auth, path):
    r = client.get(path, headers=auth)
    assert r.status_code in (404, 422)
    _is_project_error(r, r.status_code)
    r = client.post(f"/api/v1/notes/{BIG}:retry", headers=auth)
    assert r.status_code in (404, 422)


def test_enum_filter_lists_allowed_values(client, auth):
    d = _is_project_error(client.get("/api/v1/events?source=emr", headers=auth), 422, "invalid_input")
    for allowed in ("nlp", "manual", "dingtalk", "web"):
        assert allowed in d["message_en"] and allowed in d["message_zh"]
    assert "取值须为" in d["message_zh"]
    _is_project_error(client.get("/api/v1/events?severity=V", headers=auth), 422)
    assert client.get("/api/v1/events?source=nlp&severity=I", headers=auth).status_code == 200


def test_offset_and_lengths_are_bounded(client, auth):
    _is_project_error(client.get("/api/v1/events?offset=9223372036854775808", headers=auth), 422)
    _is_project_error(client.get("/api/v1/events?department=" + "科" * 65, headers=auth), 422)
    d = _is_project_error(client.post("/api/v1/notes", json=note(patient={"sex": "male (M)"}), headers=auth), 422)
    assert "sex" in d["message_en"]


@pytest.mark.parametrize("field", ["text", "id", "department"])
def test_nul_in_a_field_is_a_clear_422(client, auth, field):
    body = note(**{field: "跌倒\u0000了"}) if field != "text" else note(text=FALL + "\u0000")
    d = _is_project_error(client.post("/api/v1/notes", json=body, headers=auth), 422, "invalid_characters")
    assert "NUL" in d["message_zh"] and "NUL" in d["message_en"]


def test_nul_in_query_and_lone_surrogate_in_body(client, auth):
    _is_project_error(client.get("/api/v1/events?department=%00", headers=auth), 422, "invalid_characters")
    raw = '{"id": "s-1", "text": "abc\\ud800def"}'.encode()
    for path in ("/api/v1/notes", "/api/v1/scan"):
        d = _is_project_error(client.post(path, content=raw, headers={**auth, "content-type": "application/json"}),
                              422, "invalid_characters")
        assert "代理" in d["message_zh"] and "surrogate" in d["message_en"]
    # a proper surrogate pair (an emoji) is fine
    ok = '{"id": "s-2", "text": "病人跌倒 \\ud83d\\ude00"}'.encode()
    assert client.post("/api/v1/notes", content=ok, headers={**auth, "content-type": "application/json"}).status_code == 202


@pytest.mark.parametrize("t", ["0001-01-01T00:00:00", "9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59"])
def test_note_times_out_of_range_are_422(client, auth, t):
    d = _is_project_error(client.post("/api/v1/notes", json=note(time=t), headers=auth), 422)
    assert "time" in d["message_en"]


def test_invalid_utf8_body_gets_the_project_shape(client, auth):
    r = client.post("/api/v1/notes", content=b'{"id": "x", "text": "\xff\xfe"}',
                    headers={**auth, "content-type": "application/json"})
    _is_project_error(r, 400, "invalid_encoding")


def test_unexpected_error_is_json_500_with_request_id_logged_and_counted(app, auth, caplog):
    from fastapi.testclient import TestClient

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("boom")
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/boom", headers={**auth, "X-Request-ID": "req-123"})
        d = _is_project_error(r, 500, "internal_error")
        assert d["request_id"] == "req-123" == r.headers["x-request-id"]
        assert "boom" not in r.text
        metrics = c.get("/metrics").text
    assert 'aew_unhandled_errors_total{error="RuntimeError"} 1.0' in metrics
    assert 'aew_http_requests_total{method="GET",status="500"} 1.0' in metrics
    assert any(getattr(rec, "request_id", None) == "req-123" and rec.levelname == "ERROR" for rec in caplog.records)


def test_every_response_carries_a_request_id(client):
    assert client.get("/healthz").headers["x-request-id"]


def test_unknown_api_path_is_json_404(client):
    _is_project_error(client.get("/api/v1/nope"), 404, "not_found")


def test_openapi_documents_errors_and_bearer_auth(client):
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["BearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": schema["components"]["securitySchemes"]["BearerAuth"]["description"]}
    op = schema["paths"]["/api/v1/notes/{note_id}"]["get"]
    assert op["security"] == [{"BearerAuth": []}]
    assert {"401", "404", "422"} <= set(op["responses"])
    assert {"401", "409", "404"} <= set(schema["paths"]["/api/v1/notes/{note_id}:retry"]["post"]["responses"])
    assert {"413", "422", "400"} <= set(schema["paths"]["/api/v1/notes"]["post"]["responses"])
    assert "text/plain" in schema["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert op["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_docs_work_offline(client):
    html = client.get("/docs").text
    assert "cdn." not in html and "/docs-assets/swagger-ui-bundle.js" in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        r = client.get(f"/docs-assets/{asset}")
        assert r.status_code == 200 and len(r.content) > 10_000
    redoc = client.get("/redoc").text
    assert "/docs-assets/redoc.standalone.js" in redoc and "fonts.googleapis" not in redoc and "cdn." not in redoc


def test_malformed_dingtalk_robot_body_is_400(client):
    from service.dingtalk.settings import DingTalkSettings
    from service.dingtalk.signature import robot_sign
    secret = "robot-secret-for-tests"
    client.app.state.dingtalk_settings = DingTalkSettings(dingtalk_app_secret=secret)
    for body in ({"msgId": "m1", "text": "hello"},
                 {"msgId": "m2", "text": {"content": "hi"}, "sessionWebhookExpiredTime": "abc"},
                 {"msgId": "m3", "msgtype": "richText", "content": {"richText": [1, 2]}}):
        ts = str(int(time.time() * 1000))
        r = client.post("/dingtalk/robot", content=json.dumps(body), headers={
            "timestamp": ts, "sign": robot_sign(ts, secret), "content-type": "application/json"})
        _is_project_error(r, 400, "invalid_payload")
