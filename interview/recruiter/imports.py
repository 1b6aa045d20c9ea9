"""Inviting candidates from a CSV file: checked in the request, worked through in a job.

The request checks the file as a whole (UTF-8, readable CSV, at most ``CSV_MAX_ROWS`` rows) and
answers at once; the ``invitations.import`` job (queue ``imports``) then invites the good rows
in batches and records what happened to each line, so a 2,000-row file never holds a request
and the recruiter's page shows progress, then the results by line.
"""

from __future__ import annotations

import csv
import io

from flask import current_app

from .. import audit, jobs
from ..extensions import db
from ..models import ImportStatus, InvitationImport, Screening, User, utcnow
from .services import (
    RecruitingError,
    already_invited,
    check_can_invite,
    new_invitation,
    normalise_candidate_email,
)

# Rows invited per transaction: each batch commits its invitations, their email jobs, its
# results and the cursor together (and the page's progress moves batch by batch).
BATCH_ROWS = 50
RESULTS_SHOWN = 500  # per list on the results page; the counts are always complete


def parse_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """The file's records with their line numbers, or RecruitingError saying what is wrong."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RecruitingError("The file is not UTF-8 text. Save it as CSV (UTF-8).") from error
    if "\x00" in text:
        raise RecruitingError("The file is not a CSV text file.")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as error:
            # The reader cannot resync after a broken record (a cell past csv's field limit is
            # usually an unclosed quote that swallowed the rest of the file): refuse the file,
            # saying where, rather than guess at what follows.
            reason = (
                f"a cell is longer than {csv.field_size_limit():,} characters "
                "(often a quote mark that is never closed)"
                if "field larger than field limit" in str(error)
                else str(error)
            )
            raise RecruitingError(
                f"Line {reader.line_num}: {reason}. Nothing was imported."
            ) from error
        rows.append((reader.line_num, row))


def _columns(rows: list[tuple[int, list[str]]]) -> tuple[int, int, int]:
    """(name column, email column, first data row): a header row naming "email" is optional."""
    if rows:
        header = [cell.strip().lower() for cell in rows[0][1]]
        if "email" in header or "e-mail" in header:
            email_col = header.index("email") if "email" in header else header.index("e-mail")
            name_col = next((i for i, h in enumerate(header) if "name" in h), 1 - email_col)
            return name_col, email_col, 1
    return 0, 1, 0


def _checked_rows(data: bytes) -> list[tuple[int, list[str]]]:
    rows = parse_rows(data)
    max_rows = current_app.config["CSV_MAX_ROWS"]
    if len(rows) > max_rows + 1:
        raise RecruitingError(f"The file has more than {max_rows} rows; split it.")
    return rows


def start_import(screening: Screening, user: User, data: bytes, filename: str) -> InvitationImport:
    """Check the file, keep it in an import row and queue the job that invites its rows."""
    check_can_invite(screening)
    rows = _checked_rows(data)
    _name_col, _email_col, first = _columns(rows)
    record = InvitationImport(
        org_id=screening.org_id,
        screening_id=screening.id,
        created_by_id=user.id,
        filename=(filename or "")[:255],
        data=data,
        rows_total=len(rows) - first,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        "invitation.csv_import_started", screening, import_id=record.id, rows=record.rows_total
    )
    jobs.enqueue("invitations.import", record.id)  # commits the row with its job run
    return record


def _invite_row(screening: Screening, record: InvitationImport, line: int, row, cols) -> int | None:
    """Invite one row, or note why not; the new invitation's id."""
    name_col, email_col = cols
    if not any(cell.strip() for cell in row):
        return None
    if len(row) <= max(name_col, email_col):
        record.errors = [*record.errors, [line, "expected two columns: name, email"]]
        return None
    name, raw_email = row[name_col].strip(), row[email_col].strip()
    if not name:
        record.errors = [*record.errors, [line, "the name is empty"]]
        return None
    try:
        email = normalise_candidate_email(raw_email)
    except RecruitingError as error:
        record.errors = [*record.errors, [line, f"{raw_email[:254] or '(empty)'}: {error}"]]
        return None
    # Earlier rows of this file are invitations by now (flushed or committed): a repeated
    # address is a duplicate whether it is repeated in the file or was invited before.
    if already_invited(screening, email):
        record.duplicates = [*record.duplicates, [line, email]]
        return None
    invitation = new_invitation(screening, name, email)
    record.invited = [*record.invited, [line, invitation.candidate_name, email]]
    return invitation.id


def run_import(import_id: int) -> None:
    """The ``invitations.import`` job: invite the rows after the cursor, batch by batch.

    Idempotent: a finished import is left alone, and a re-run continues after the last batch
    that committed (its invitations and their email jobs were committed with it).
    """
    record = db.session.get(InvitationImport, import_id)
    if record is None or record.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return
    screening = record.screening
    record.status = ImportStatus.RUNNING
    db.session.commit()
    try:
        check_can_invite(screening)
        rows = _checked_rows(record.data)
    except RecruitingError as error:
        _finish(record, ImportStatus.FAILED, str(error))
        return
    name_col, email_col, first = _columns(rows)
    rows = rows[first:]
    while record.rows_done < len(rows):
        batch = rows[record.rows_done : record.rows_done + BATCH_ROWS]
        new_ids = [
            invitation_id
            for line, row in batch
            if (invitation_id := _invite_row(screening, record, line, row, (name_col, email_col)))
        ]
        record.rows_done += len(batch)
        jobs.enqueue_all("email.invitation", [(i,) for i in new_ids])  # commits the batch
    audit.record(
        "invitation.csv_import",
        screening,
        actor=db.session.get(User, record.created_by_id) if record.created_by_id else None,
        import_id=record.id,
        invited=len(record.invited),
        errors=len(record.errors),
        duplicates=len(record.duplicates),
    )
    _finish(record, ImportStatus.DONE, None)


def _finish(record: InvitationImport, status: ImportStatus, error: str | None) -> None:
    record.status = status
    record.error = error
    record.finished_at = utcnow()
    db.session.commit()


def progress(record: InvitationImport) -> dict:
    """What the import page's script polls."""
    return {
        "status": record.status.value,
        "rows_done": record.rows_done,
        "rows_total": record.rows_total,
        "finished": record.status in (ImportStatus.DONE, ImportStatus.FAILED),
    }


def import_in_screening_or_none(screening: Screening, import_id: int) -> InvitationImport | None:
    record = db.session.get(InvitationImport, import_id)
    if record is None or record.screening_id != screening.id:
        return None
    return record
