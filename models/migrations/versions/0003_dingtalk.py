"""DingTalk: processed messages, conversation drafts, approval instances, contacts

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-30 00:03:29.527083
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('dingtalkcontact',
    sa.Column('staff_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('nick', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('staff_id')
    )
    op.create_table('dingtalkapproval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_instance_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('process_code', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['adverseevent.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('process_instance_id')
    )
    op.create_table('dingtalkconversation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('sender_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('missing', sa.JSON(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['adverseevent.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'sender_key', name='uq_dingtalk_conversation_sender')
    )
    with op.batch_alter_table('dingtalkconversation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dingtalkconversation_expires_at'), ['expires_at'], unique=False)

    op.create_table('dingtalkmessage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('msg_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('sender_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['adverseevent.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('msg_id')
    )
    with op.batch_alter_table('dingtalkmessage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dingtalkmessage_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dingtalkmessage_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dingtalkmessage_sender_key'), ['sender_key'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('dingtalkmessage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dingtalkmessage_sender_key'))
        batch_op.drop_index(batch_op.f('ix_dingtalkmessage_received_at'))
        batch_op.drop_index(batch_op.f('ix_dingtalkmessage_event_id'))

    op.drop_table('dingtalkmessage')
    with op.batch_alter_table('dingtalkconversation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dingtalkconversation_expires_at'))

    op.drop_table('dingtalkconversation')
    op.drop_table('dingtalkapproval')
    op.drop_table('dingtalkcontact')

