"""Users, passwords and API clients."""
from __future__ import annotations

import hashlib
import secrets
import string
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import or_, update
from sqlmodel import Session, select

from models import ApiClient, Department, Role, User
from models.base import utcnow

_hasher = PasswordHasher()
LAST_USED_RESOLUTION = timedelta(seconds=60)


class PasswordPolicyError(ValueError):
    """The password does not meet the policy; the message is shown to the person."""


# ---------------------------------------------------------------- API clients

def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_client(*, session: Session, name: str, expires_at: datetime | None = None) -> tuple[ApiClient, str]:
    """Create an API client; returns it with the plain key (shown once, stored only hashed)."""
    if session.exec(select(ApiClient).where(ApiClient.name == name)).first():
        raise ValueError(f"API 客户端已存在 / API client '{name}' already exists")
    key = "aew_" + secrets.token_urlsafe(32)
    client = ApiClient(name=name, key_prefix=key[:10], key_hash=hash_api_key(key), expires_at=expires_at)
    session.add(client)
    session.flush()
    return client, key


def api_client_for_key(*, session: Session, key: str, now: datetime | None = None) -> ApiClient | None:
    """The active, unrevoked, unexpired client of a key, read from the database on every call (no cache),
    with its last-used time refreshed (at most once a minute)."""
    now = now or utcnow()
    client = session.exec(select(ApiClient).where(ApiClient.key_hash == hash_api_key(key))).first()
    if client is None or not api_client_usable(client, now=now):
        return None
    if client.last_used_at is None or client.last_used_at < now - LAST_USED_RESOLUTION:
        session.execute(update(ApiClient).where(ApiClient.id == client.id, or_(
            ApiClient.last_used_at.is_(None), ApiClient.last_used_at < now - LAST_USED_RESOLUTION))
            .values(last_used_at=now))
        client.last_used_at = now
    return client


def api_client_usable(client: ApiClient, *, now: datetime) -> bool:
    return client.is_active and client.revoked_at is None and (client.expires_at is None or client.expires_at > now)


def find_api_client(*, session: Session, name_or_id: str) -> ApiClient | None:
    client = session.exec(select(ApiClient).where(ApiClient.name == name_or_id)).first()
    if client is None and name_or_id.isdigit():
        client = session.get(ApiClient, int(name_or_id))
    return client


def revoke_api_client(*, session: Session, client: ApiClient, by: str) -> ApiClient:
    """Revoke a key for good; the next request with it gets 401 in every process."""
    if client.revoked_at is None:
        client.revoked_at, client.revoked_by, client.is_active = utcnow(), by[:128], False
        session.add(client)
    return client


def list_api_clients(*, session: Session) -> list[ApiClient]:
    return list(session.exec(select(ApiClient).order_by(ApiClient.name)).all())


# ---------------------------------------------------------------- passwords

def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_policy(password: str, *, username: str, min_length: int = 10, min_classes: int = 3) -> None:
    """Raise PasswordPolicyError unless the password is long enough, mixes enough character classes and is
    not the user name (nor the name reversed)."""
    if len(password) < min_length:
        raise PasswordPolicyError(f"密码至少 {min_length} 位 / password must have at least {min_length} characters")
    classes = sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if classes < min_classes:
        raise PasswordPolicyError(f"密码须包含大写字母、小写字母、数字、符号中的至少 {min_classes} 类 / password must "
                                  f"mix at least {min_classes} of: upper case, lower case, digits, symbols")
    name, low = username.strip().lower(), password.lower()
    if name and (low == name or low == name[::-1]):
        raise PasswordPolicyError("密码不能与用户名相同 / password must not be the user name")


def one_time_password() -> str:
    """A random password that meets any policy of up to four classes (16 characters)."""
    alphabet = string.ascii_letters + string.digits
    core = [secrets.choice(alphabet) for _ in range(12)]
    return "".join(core) + secrets.choice(string.ascii_uppercase) + secrets.choice(string.ascii_lowercase) \
        + secrets.choice(string.digits) + secrets.choice("-_.!@#")


def _policy_kwargs(settings) -> dict:
    if settings is None:
        return {}
    return {"min_length": settings.password_min_length, "min_classes": settings.password_min_classes}


# ---------------------------------------------------------------- users

def ensure_department(*, session: Session, name: str) -> Department:
    dep = session.exec(select(Department).where(Department.code == name)).first()
    if dep is None:
        dep = Department(code=name, name=name)
        session.add(dep)
        session.flush()
    return dep


def create_user(*, session: Session, username: str, password: str, role: Role, department: str | None = None,
                full_name: str | None = None, dingtalk_staff_id: str | None = None, settings=None,
                must_change_password: bool = False) -> User:
    """Create a user with an argon2 password hash; department reviewers need a department."""
    username = username.strip()
    if not username:
        raise ValueError("用户名不能为空 / user name must not be empty")
    check_password_policy(password, username=username, **_policy_kwargs(settings))
    if session.exec(select(User).where(User.username == username)).first():
        raise ValueError(f"用户已存在 / user '{username}' already exists")
    if role == Role.department_reviewer and not department:
        raise ValueError("科室质控员必须指定科室 / a department reviewer needs --department")
    dep = ensure_department(session=session, name=department) if department else None
    now = utcnow()
    user = User(username=username, full_name=full_name or username, role=role,
                department_id=dep.id if dep else None, password_hash=hash_password(password),
                dingtalk_staff_id=dingtalk_staff_id, created_at=now, password_changed_at=now,
                must_change_password=must_change_password)
    session.add(user)
    session.flush()
    return user


def find_user(*, session: Session, name_or_id: str) -> User | None:
    user = session.exec(select(User).where(User.username == name_or_id)).first()
    if user is None and name_or_id.isdigit():
        user = session.get(User, int(name_or_id))
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.username)).all())


def set_password(*, session: Session, user: User, password: str, settings=None, one_time: bool = False) -> User:
    """Set a new password (policy checked) and end every session of the user."""
    from service.services.sessions import end_user_sessions
    check_password_policy(password, username=user.username, **_policy_kwargs(settings))
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = one_time
    session.add(user)
    end_user_sessions(session=session, user_id=user.id)
    return user


def change_own_password(*, session: Session, user: User, current: str, new: str, settings=None) -> User:
    """A person changes their own password: the current one is checked, the new one must differ."""
    if not verify_password(user.password_hash, current):
        raise PasswordPolicyError("当前密码不正确 / the current password is wrong")
    if new == current:
        raise PasswordPolicyError("新密码不能与当前密码相同 / the new password must differ from the current one")
    return set_password(session=session, user=user, password=new, settings=settings)


def reset_password(*, session: Session, user: User) -> str:
    """An admin reset: a one-time password that must be changed at the next login; returns it (shown once)."""
    from service.services.throttle import clear_user_lock
    password = one_time_password()
    set_password(session=session, user=user, password=password, one_time=True)
    clear_user_lock(session=session, user=user)
    return password


def set_active(*, session: Session, user: User, active: bool) -> User:
    """Deactivate (sessions end at once) or reactivate an account."""
    from service.services.sessions import end_user_sessions
    user.is_active = active
    session.add(user)
    if not active:
        end_user_sessions(session=session, user_id=user.id)
    return user


def change_role(*, session: Session, user: User, role: Role, department: str | None) -> User:
    """Change role and department; the user's sessions end, so the new rights apply from the next login."""
    from service.services.sessions import end_user_sessions
    if role == Role.department_reviewer and not department:
        raise ValueError("科室质控员必须指定科室 / a department reviewer needs a department")
    dep = ensure_department(session=session, name=department) if department else None
    changed = user.role != role or user.department_id != (dep.id if dep else None)
    user.role, user.department_id = role, dep.id if dep else None
    session.add(user)
    if changed:
        end_user_sessions(session=session, user_id=user.id)
    return user
