"""Users and API clients."""
from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlmodel import Session, select

from models import ApiClient, Department, Role, User
from models.base import utcnow

_hasher = PasswordHasher()


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_client(*, session: Session, name: str) -> tuple[ApiClient, str]:
    """Create an API client; returns it with the plain key (shown once, stored only hashed)."""
    if session.exec(select(ApiClient).where(ApiClient.name == name)).first():
        raise ValueError(f"API 客户端已存在 / API client '{name}' already exists")
    key = "aew_" + secrets.token_urlsafe(32)
    client = ApiClient(name=name, key_prefix=key[:10], key_hash=hash_api_key(key))
    session.add(client)
    session.flush()
    return client, key


def api_client_for_key(*, session: Session, key: str) -> ApiClient | None:
    client = session.exec(select(ApiClient).where(ApiClient.key_hash == hash_api_key(key))).first()
    if client is None or not client.is_active:
        return None
    return client


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def ensure_department(*, session: Session, name: str) -> Department:
    dep = session.exec(select(Department).where(Department.code == name)).first()
    if dep is None:
        dep = Department(code=name, name=name)
        session.add(dep)
        session.flush()
    return dep


def create_user(*, session: Session, username: str, password: str, role: Role, department: str | None = None,
                full_name: str | None = None, dingtalk_staff_id: str | None = None) -> User:
    """Create a user with an argon2 password hash; department reviewers need a department."""
    if len(password) < 8:
        raise ValueError("密码至少 8 位 / password must have at least 8 characters")
    if session.exec(select(User).where(User.username == username)).first():
        raise ValueError(f"用户已存在 / user '{username}' already exists")
    if role == Role.department_reviewer and not department:
        raise ValueError("科室质控员必须指定科室 / a department reviewer needs --department")
    dep = ensure_department(session=session, name=department) if department else None
    user = User(username=username, full_name=full_name or username, role=role,
                department_id=dep.id if dep else None, password_hash=hash_password(password),
                dingtalk_staff_id=dingtalk_staff_id, created_at=utcnow())
    session.add(user)
    session.flush()
    return user
