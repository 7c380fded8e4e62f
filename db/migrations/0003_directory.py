"""The directory's searches and pages: interviewers by (title, id), interviewees by driver."""
from __future__ import annotations

from peewee import Database, PostgresqlDatabase


def up(migrator: object, db: Database) -> None:
    statements = [
        # GET /interviewers walks role = 'interviewer' in (title, id) order from the keyset
        # and stops after a page: the filter on q is checked on the rows walked.
        'CREATE INDEX user_role_title ON "user" (role, title, id)',
        # GET /interviewees?driver_id= pages by id within a driver; serves visibility too.
        "CREATE INDEX interviewee_driver_id ON interviewee (driver_id, id)",
        "DROP INDEX interviewee_driver",
    ]
    if isinstance(db, PostgresqlDatabase):
        # A substring (ILIKE '%...%') cannot use a btree; trigrams find a rare title fast.
        statements += [
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            'CREATE INDEX user_title_trgm ON "user" USING gin (title gin_trgm_ops)',
        ]
    for sql in statements:
        db.execute_sql(sql)
