"""Roster import (会员名册导入) from Excel (.xlsx) or CSV, by `flask import-roster` and the admin; and the
export of the member list in the same columns, so that export → edit → import round-trips.

Valid rows are kept and bad rows are reported, row by row with the reason; the file is not refused
whole. Staff fix the bad rows and import the same file again: an import is keyed by employee number
(工号), so a row already on the roster updates that member (a change of group is recorded as a
转会 with the reason 名册导入) and a row that matches the roster changes nothing. A row is either
applied in full (member, group history, audit rows) or not at all, even when the database refuses it
half-way: new members are written in bulk, a chunk of rows in one INSERT (their audit rows in one
INSERT … SELECT) inside one SAVEPOINT, and a chunk the database refuses is written again row by row,
each row in its own SAVEPOINT, so that the rows refused are reported one by one; a row that changes an
existing member has its own SAVEPOINT. A blank optional cell (手机号, 生日, 入会日期) keeps what the
roster already holds, and so does a masked phone (138****5678, as an export for a role that sees no full
numbers writes it); clearing a value is done on the member's page. The admin offers a dry run (检查)
that reports the same errors and counts, and lists who will be added, updated or moved, without
writing anything.

In the admin, the confirmed import is a background job (``background``): it commits a chunk of rows at
a time with its progress, which the import's page polls, and resumes after the last committed chunk if
its worker dies. So, unlike the shell's import (one transaction), the first chunks are on the roster
while the rest is still running, and an import that fails half-way keeps the chunks it committed (the
page says how many rows; importing the same file again finishes the rest).

The package: ``reading`` (file → rows), ``checking`` (one row's values), ``groups`` (所属组织 → group),
``importing`` (rows → roster), ``pending`` (a checked file and its report, waiting for confirmation),
``models`` and ``background`` (the confirmed import as a job), ``template`` (the blank template),
``exporting`` (the member list → a file in the template's columns), ``cli`` (`flask import-roster`).
"""

from __future__ import annotations

from backend.members.roster.checking import parse_date, parse_phone
from backend.members.roster.cli import run_cli_import
from backend.members.roster.importing import IMPORT_REASON, ImportReport, RowError, import_rows
from backend.members.roster.reading import MAX_ROWS, RosterRow, read_rows
from backend.members.roster.template import TEMPLATE_EXAMPLE, TEMPLATE_HEADER, template_bytes

__all__ = [
    "IMPORT_REASON",
    "MAX_ROWS",
    "TEMPLATE_EXAMPLE",
    "TEMPLATE_HEADER",
    "ImportReport",
    "RosterRow",
    "RowError",
    "import_rows",
    "parse_date",
    "parse_phone",
    "read_rows",
    "run_cli_import",
    "template_bytes",
]
