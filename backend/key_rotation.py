"""`flask rotate-data-key`: every encrypted column re-encrypted under the first DATA_KEY, every blind
index rebuilt with the index key (backend/crypto.py).

Run it after putting a new key first in DATA_KEY (``DATA_KEY=new,old``, DATA_INDEX_KEY set) on every
machine; once it has finished, the old key can leave DATA_KEY. The columns are found from the models
(EncryptedString columns; index columns marked ``info={"blind_index_of": <column>}``, last-four-digits
indexes ``info={"last4_index_of": <column>}``), so a new encrypted field is covered without touching
this module.

Upload files are re-encrypted too (`rotate_upload_files`), after the columns.

`flask reindex-phones` (``fill_missing_indexes``) writes only the indexes that are missing, e.g. the
last-four index of members stored before it existed (the migration that adds it cannot compute it: the
key is not in the database), without re-encrypting anything.

Like a job, it commits per batch: a big table is never one long transaction, and a run that stops
half-way is simply run again (re-encrypting a value that is already under the first key is harmless).
A row that the application changes between the read and the write of its batch is left as the
application wrote it (compare-and-set on the stored ciphertext), since that write used the current keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.crypto import EncryptedString, blind_index, decrypt, last4_index, reencrypt
from backend.db import unit_of_work
from backend.extensions import db
from backend.uploads.models import Upload
from backend.uploads.storage import reseal_stored


@dataclass
class TableRotation:
    """What rotation does to one table: the columns it re-encrypts and the indexes it rebuilds."""

    table: sa.Table
    encrypted: list[sa.Column[str]]
    indexes: dict[str, str] = field(default_factory=dict)  # index column name → source column name
    last4_indexes: dict[str, str] = field(default_factory=dict)  # the same, for last-four-digit indexes

    @property
    def key(self) -> sa.Column[int]:
        (primary,) = self.table.primary_key.columns
        return primary


def tables_to_rotate() -> list[TableRotation]:
    """Every table with an encrypted column, in the metadata's order."""
    found = []
    for table in db.metadata.sorted_tables:
        encrypted = [column for column in table.columns if isinstance(column.type, EncryptedString)]
        if not encrypted:
            continue
        indexes = {
            column.name: column.info["blind_index_of"]
            for column in table.columns
            if "blind_index_of" in column.info
        }
        last4 = {
            column.name: column.info["last4_index_of"]
            for column in table.columns
            if "last4_index_of" in column.info
        }
        found.append(TableRotation(table, encrypted, indexes, last4))
    return found


@dataclass
class RotationCount:
    rows: int = 0  # rows rewritten
    skipped: int = 0  # rows the application changed meanwhile (already under the current keys)


def rotate_data_key(*, batch_size: int = 500) -> dict[str, RotationCount]:
    """Re-encrypts and re-indexes every table; returns the counts per table name."""
    return {rotation.table.name: _rotate_table(rotation, batch_size) for rotation in tables_to_rotate()}


def _raw(column: sa.Column[str]) -> sa.ColumnElement[str]:
    # Read and write the stored ciphertext itself, past EncryptedString's own encrypt/decrypt.
    return sa.type_coerce(column, sa.Text)


def _batches(
    query: sa.Select[Any], key: Any, batch_size: int, *, writes: bool = True
) -> Iterator[tuple[Session, Sequence[Any]]]:
    """The rows of `query` (its first column is `key`) in batches by `key`, each batch read, and with
    `writes` handled, in a unit of work of its own: one commit per batch, and a run stopped midway may
    simply start again. Without `writes` the batch is handed over after its unit of work ends (on
    SQLite every transaction holds the write lock: slow work on files must not keep it)."""
    last_id = 0
    while True:
        with unit_of_work() as session:
            rows = session.execute(query.where(key > last_id).order_by(key).limit(batch_size)).all()
            if writes:
                yield session, rows
        if not writes:
            yield session, rows
        if len(rows) < batch_size:
            return
        last_id = rows[-1][0]


def _rotate_table(rotation: TableRotation, batch_size: int) -> RotationCount:
    count = RotationCount()
    columns = [_raw(column).label(column.name) for column in rotation.encrypted]
    for session, rows in _batches(sa.select(rotation.key, *columns), rotation.key, batch_size):
        for row in rows:
            stored = {column.name: getattr(row, column.name) for column in rotation.encrypted}
            if _rewrite(session, rotation, row[0], stored):
                count.rows += 1
            else:
                count.skipped += 1
    return count


def _rewrite(session: Session, rotation: TableRotation, row_id: int, stored: dict[str, str | None]) -> bool:
    table = rotation.table
    values: dict[str, sa.ColumnElement[str] | str | None] = {
        name: sa.literal(reencrypt(token), sa.Text) if token is not None else None
        for name, token in stored.items()
    }
    values.update(_index_values(rotation, stored))
    unchanged = [_raw(table.c[name]).is_not_distinct_from(token) for name, token in stored.items()]
    result = session.execute(
        sa.update(table).where(rotation.key == row_id, *unchanged).values(values),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)


def _index_values(rotation: TableRotation, stored: dict[str, str | None]) -> dict[str, str | None]:
    """Every index of the row, made afresh from the stored ciphertexts of their source columns."""
    values: dict[str, str | None] = {}
    for index_name, source in rotation.indexes.items():
        token = stored[source]
        values[index_name] = blind_index(decrypt(token)) if token is not None else None
    for index_name, source in rotation.last4_indexes.items():
        token = stored[source]
        values[index_name] = last4_index(decrypt(token)) if token is not None else None
    return values


def fill_missing_indexes(*, batch_size: int = 500) -> dict[str, int]:
    """Writes the indexes that are NULL beside a value (rows stored before the index existed); rows
    per table name. Commits per batch, like the rotation, and may be run again at any time."""
    return {
        rotation.table.name: _fill_table(rotation, batch_size)
        for rotation in tables_to_rotate()
        if rotation.indexes or rotation.last4_indexes
    }


def _fill_table(rotation: TableRotation, batch_size: int) -> int:
    table, key = rotation.table, rotation.key
    sources = sorted({*rotation.indexes.values(), *rotation.last4_indexes.values()})
    missing = sa.or_(
        *(
            sa.and_(table.c[index].is_(None), table.c[source].is_not(None))
            for index, source in {**rotation.indexes, **rotation.last4_indexes}.items()
        )
    )
    filled = 0
    query = sa.select(key, *(_raw(table.c[name]).label(name) for name in sources)).where(missing)
    for session, rows in _batches(query, key, batch_size):
        for row in rows:
            stored = {name: getattr(row, name) for name in sources}
            unchanged = [_raw(table.c[name]).is_not_distinct_from(token) for name, token in stored.items()]
            result = session.execute(
                sa.update(table).where(key == row[0], *unchanged).values(_index_values(rotation, stored)),
                execution_options={"synchronize_session": False},
            )
            filled += result.rowcount
    return filled


def rotate_upload_files(*, batch_size: int = 500) -> RotationCount:
    """Every upload's file re-encrypted under the first DATA_KEY (files stored before uploads were
    encrypted get encrypted now): `rows` files rewritten, `skipped` files missing from UPLOAD_DIR.

    The rows are read in batches by id; each file is written anew and renamed over the old one
    (backend/uploads/at_rest.py), so a download meanwhile gets one whole version or the other.
    """
    count = RotationCount()
    query = sa.select(Upload.id, Upload.storage_name)
    for _, rows in _batches(query, Upload.id, batch_size, writes=False):
        for _, storage_name in rows:
            if reseal_stored(storage_name):
                count.rows += 1
            else:
                count.skipped += 1
    return count
