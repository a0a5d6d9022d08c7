"""The declarative base, time helpers and the one-commit-per-request unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Session, registry
from sqlalchemy.types import TypeDecorator

SHANGHAI = ZoneInfo("Asia/Shanghai")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Primary keys are PostgreSQL `integer`: an id beyond this is not an id of ours (and would overflow).
MAX_ID = 2**31 - 1


def parse_id(text: str | None) -> int | None:
    """An id typed into a URL's query string, or None when it cannot be one (「²」 is a digit to
    ``str.isdigit`` but not to ``int``; ASCII digits only, within the column's range)."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """Today's date where the union is (Asia/Shanghai), whatever the server's own time zone."""
    return utcnow().astimezone(SHANGHAI).date()


def to_local(value: datetime | None) -> datetime | None:
    """A stored UTC time as the union sees it (Asia/Shanghai)."""
    return value.astimezone(SHANGHAI) if value is not None else None


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


# The session every module uses. It lives here, beside the base it is built on, so that unit_of_work needs
# nothing from backend.extensions (which re-exports it with the other unbound extension objects).
db = SQLAlchemy(model_class=Base)


def count_rows(query: sa.Select[Any]) -> int:
    """How many rows `query` yields (its ORDER BY dropped): the total of a paginated list."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Migrations name plain column types, so they never import application code."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{type(obj.impl_instance).__name__}()"
    return False


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the current transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(callback)


def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop("after_commit", [])
    for callback in callbacks:
        callback()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One request, one commit: commit on success, roll back everything on any error."""
    session = db.session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop("after_commit", None)
        raise
    _run_after_commit(session)
