"""merge heads: notifications (0002), DingTalk (0003) and finding entities (0005)

The three branches each revise 0001 and touch separate tables, so the merge
has nothing to do; it only gives the history a single head so that a plain
`alembic upgrade head` (and `aew db upgrade`) works.

Revision ID: 0006
Revises: 0002, 0003, 0005
"""

revision = "0006"
down_revision = ("0002", "0003", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
