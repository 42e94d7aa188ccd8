"""security: login throttle, server-side web sessions, API key expiry/revocation, user password state,
and an append-only audit log with a hash chain

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from models.audit import APPEND_ONLY_DDL

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "web_login",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("web_login", schema=None) as b:
        b.create_index(b.f("ix_web_login_token_hash"), ["token_hash"], unique=True)
        b.create_index(b.f("ix_web_login_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("user", schema=None) as b:
        b.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("password_changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("apiclient", schema=None) as b:
        b.add_column(sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        b.add_column(sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        b.add_column(sa.Column("revoked_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
    with op.batch_alter_table("auditlog", schema=None) as b:
        b.add_column(sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        b.add_column(sa.Column("row_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    # rows written before this revision stay unchained (row_hash NULL); `aew audit verify` starts after them
    for sql in APPEND_ONLY_DDL.get(op.get_bind().dialect.name, []):
        op.execute(sql)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS auditlog_append_only ON auditlog")
        op.execute("DROP FUNCTION IF EXISTS auditlog_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS auditlog_no_update")
        op.execute("DROP TRIGGER IF EXISTS auditlog_no_delete")
    with op.batch_alter_table("auditlog", schema=None) as b:
        b.drop_column("row_hash")
        b.drop_column("prev_hash")
    with op.batch_alter_table("apiclient", schema=None) as b:
        b.drop_column("revoked_by")
        b.drop_column("revoked_at")
        b.drop_column("expires_at")
    with op.batch_alter_table("user", schema=None) as b:
        b.drop_column("password_changed_at")
        b.drop_column("must_change_password")
    op.drop_table("web_login")
    op.drop_table("login_throttle")
