"""People, departments and API clients."""
from datetime import datetime
from enum import Enum

from sqlmodel import Field, SQLModel

from models.base import utcnow


class Role(str, Enum):
    admin = "admin"
    quality_manager = "quality_manager"
    department_reviewer = "department_reviewer"
    reporter = "reporter"


class Department(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=128)


class UserBase(SQLModel):
    username: str = Field(index=True, unique=True, max_length=64)
    full_name: str | None = Field(default=None, max_length=128)
    role: Role = Field(default=Role.reporter)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    dingtalk_staff_id: str | None = Field(default=None, index=True, unique=True, max_length=128)
    mobile: str | None = Field(default=None, max_length=32)
    is_active: bool = True


class UserCreate(UserBase):
    password: str = Field(min_length=10, max_length=256)


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str
    failed_logins: int = 0                      # mirror of the login throttle, for the admin page
    locked_until: datetime | None = None        # mirror of the login throttle, for the admin page
    must_change_password: bool = False          # a one-time password from an admin reset
    password_changed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class UserPublic(UserBase):
    id: int


class ApiClient(SQLModel, table=True):
    """An EMR/HIS system allowed to post notes. Only a hash of its key is stored."""
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=128)
    key_prefix: str = Field(max_length=16)
    key_hash: str = Field(index=True, unique=True, max_length=64)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None        # updated at most once a minute
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=128)
