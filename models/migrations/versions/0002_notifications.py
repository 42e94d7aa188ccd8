"""notifications: routing rules, channel status, dispatcher leases

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('routingrule',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('severities', sa.JSON(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('departments', sa.JSON(), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_ids', sa.JSON(), nullable=False),
    sa.Column('mode', sa.Enum('by_severity', 'immediate', 'digest', name='deliverymode'), nullable=False),
    sa.Column('stop', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('channelstatus',
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('last_ok_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_errcode', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('config_error', sa.Boolean(), nullable=False),
    sa.Column('config_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('paused_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_digest_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('channel')
    )
    op.create_table('dispatcherlease',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('acquired_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('dispatcherlease')
    op.drop_table('channelstatus')
    op.drop_table('routingrule')
    sa.Enum(name='deliverymode').drop(op.get_bind(), checkfirst=True)
