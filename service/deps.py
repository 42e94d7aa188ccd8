"""Request dependencies as Annotated aliases: session, settings, scanner, the calling API client."""
from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, Request
from sqlmodel import Session

from models import ApiClient
from service.errors import http_error
from service.services.accounts import api_client_for_key
from service.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as s:
        yield s


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_scanner(request: Request):
    try:
        return request.app.state.scanner_factory()
    except Exception as e:  # noqa: BLE001
        raise http_error(503, "scanner_unavailable", "扫描模型未就绪", f"scanner not available: {e}") from e


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ScannerDep = Annotated[object, Depends(get_scanner)]


def get_api_client(request: Request) -> ApiClient:
    """The calling EMR system, read from the database on every request (no cache): a revoked or expired key
    gets 401 on its very next request, whichever process serves it."""
    auth = request.headers.get("authorization", "")
    scheme, _, key = auth.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise http_error(401, "missing_api_key", "缺少 API 密钥（Authorization: Bearer …）",
                         "missing API key (Authorization: Bearer ...)")
    with Session(request.app.state.engine, expire_on_commit=False) as s:
        client = api_client_for_key(session=s, key=key)
        s.commit()          # last_used_at
        if client is not None:
            s.expunge(client)
    if client is None:
        raise http_error(401, "invalid_api_key", "API 密钥无效、已吊销或已过期", "invalid, revoked or expired API key")
    return client


ApiClientDep = Annotated[ApiClient, Depends(get_api_client)]
