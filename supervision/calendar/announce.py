"""Entering a year's official holiday arrangement, and counting again every deadline that was
counted on the provisional calendar for that year.

The State Council announces each year's arrangement in the autumn before. Until then the
product counts deadlines reaching into that year on the statutory holidays alone and marks
them provisional (`supervision.calendar.workdays`). `announce_year` takes the announced
arrangement (the YAML of `data/calendar/<year>.yaml`, status `announced`), checks it, counts
again every stored provisional deadline — listing deadlines, removal deadlines and the
publication deadlines recorded with published results — on the calendar that includes it,
writes one audit row per deadline that moved (and one for the arrangement), and only then
puts the file in place. Everything happens in the caller's transaction: a refused file changes
nothing, and the file is written last, by rename.
"""

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlmodel import Session, col, or_, select

from supervision.audit.service import record_changes
from supervision.calendar.workdays import (
    CALENDAR_DIR,
    WorkdayCalendar,
    YearArrangement,
    load_calendar,
)
from supervision.clock import Clock
from supervision.enforcement.models import ListEntry, ListKind
from supervision.enforcement.rulebook import Rulebook
from supervision.errors import Invalid
from supervision.inspection.deadlines import china_date, lateness
from supervision.inspection.models import ResultVersion
from supervision.planning.models import Batch, Task

MAX_FILE_BYTES = 64 * 1024


@dataclass
class Recount:
    """What entering a year's arrangement changed."""

    year: int
    sha256: str
    checked: int = 0  # provisional deadlines counted again
    moved: list[dict[str, Any]] = field(default_factory=list)  # those whose date changed
    still_provisional: int = 0  # reaching into another year still without an arrangement


def parse_arrangement(text: bytes, year: int) -> YearArrangement:
    """The uploaded file as an announced arrangement of ``year``, or a clear refusal."""
    if len(text) > MAX_FILE_BYTES:
        raise Invalid(
            f"放假安排文件过大（超过 {MAX_FILE_BYTES // 1024} KB）",
            f"the arrangement file is larger than {MAX_FILE_BYTES // 1024} KB",
        )
    try:
        data = yaml.safe_load(text.decode("utf-8-sig"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise Invalid(
            "放假安排文件不是有效的 UTF-8 YAML", f"not a valid UTF-8 YAML file: {exc}"
        ) from None
    try:
        arrangement = YearArrangement.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(文件)"
        raise Invalid(
            f"放假安排文件有误（{where}）：{first.get('msg', '')}",
            f"the arrangement file is invalid at {where}: {first.get('msg', '')}",
        ) from None
    if arrangement.year != year:
        raise Invalid(
            f"文件中的年份是 {arrangement.year}，不是 {year}",
            f"the file is for {arrangement.year}, not {year}",
        )
    if arrangement.status != "announced":
        raise Invalid(
            "只能录入已公布的放假安排（status: announced，并注明 source 通知文号）",
            "only an announced arrangement (status: announced, with its source) can be entered",
        )
    return arrangement


def announce_year(
    session: Session,
    data_dir: Path,
    year: int,
    text: bytes,
    *,
    book: Rulebook,
    actor: str,
    clock: Clock,
) -> Recount:
    """Enter ``year``'s announced arrangement and count its provisional deadlines again."""
    arrangement = parse_arrangement(text, year)
    folder = data_dir / CALENDAR_DIR
    current = load_calendar(folder)
    overrides = {**current.overrides, year: arrangement}
    pending = {y: name for y, name in current.pending.items() if y != year}
    calendar = WorkdayCalendar(overrides, pending)
    result = Recount(year, hashlib.sha256(text).hexdigest())
    changes: list[tuple[str, str, str, str, dict[str, Any] | None]] = []
    changes.append(
        (
            actor,
            "calendar.announce",
            "calendar",
            str(year),
            {"sha256": result.sha256, "source": arrangement.source},
        )
    )
    for entry in _provisional_entries(session, year):
        changes += _recount_entry(entry, calendar, book, actor, result)
    for version, batch in _provisional_versions(session, year):
        changes += _recount_version(version, batch, calendar, actor, result)
    session.flush()
    record_changes(session, changes, clock)
    _write_file(folder, year, text)
    return result


def _provisional_entries(session: Session, year: int) -> list[ListEntry]:
    """Entries with a provisional deadline in ``year`` or later (counted into ``year``)."""
    start = date(year, 1, 1)
    return list(
        session.exec(
            select(ListEntry)
            .where(
                or_(
                    (col(ListEntry.decide_by_provisional)) & (col(ListEntry.decide_by) >= start),
                    (col(ListEntry.removal_deadline_provisional))
                    & (col(ListEntry.removal_deadline) >= start),
                )
            )
            .order_by(ListEntry.id)
        )
    )


def _provisional_versions(session: Session, year: int) -> list[tuple[ResultVersion, Batch]]:
    rows = session.exec(
        select(ResultVersion, Batch)
        .join(Task, col(Task.id) == ResultVersion.task_id)
        .join(Batch, col(Batch.id) == Task.batch_id)
        .where(
            col(ResultVersion.deadline_provisional),
            col(ResultVersion.deadline) >= date(year, 1, 1),
        )
        .order_by(ResultVersion.id)
    )
    return list(rows.all())


def _recount_entry(
    entry: ListEntry, calendar: WorkdayCalendar, book: Rulebook, actor: str, result: Recount
) -> list[tuple[str, str, str, str, dict[str, Any] | None]]:
    regime = book.regime(entry.rulebook)
    out = []
    days: int | None = None
    if entry.list_kind == ListKind.serious:  # a move decided within days of its due day
        move = regime.escalation.move_to_serious
        days = move.decide_within_working_days if move else None
    elif (reason := regime.reason(entry.reason_code)) is not None:
        days = reason.list_within_working_days
    if entry.decide_by_provisional and entry.decide_by is not None and days is not None:
        new = calendar.working_days_after(entry.fact_on, days)
        provisional = calendar.provisional_between(entry.fact_on, new)
        out += _moved(result, entry, "decide_by", entry.decide_by, new, provisional, actor)
        entry.decide_by, entry.decide_by_provisional = new, provisional
        if entry.decided_on is not None:
            entry.decision_late = entry.decided_on > new
    if entry.removal_deadline_provisional and entry.removal_applied_on is not None:
        start = entry.removal_applied_on
        if entry.list_kind == ListKind.serious:
            days = regime.serious_removal_decide_within_working_days or 0
        else:
            reason = regime.reason(entry.reason_code)
            days = reason.remove_within_working_days
            if reason.removal_counts_from == "verification" and entry.removal_verified_on:
                start = entry.removal_verified_on  # as `decisions.remove` counted it
        new = calendar.working_days_after(start, days)
        provisional = calendar.provisional_between(start, new)
        old = entry.removal_deadline
        out += _moved(result, entry, "removal_deadline", old, new, provisional, actor)
        entry.removal_deadline, entry.removal_deadline_provisional = new, provisional
        if entry.removed_on is not None:
            entry.removal_late = entry.removed_on > new
    return out


def _moved(
    result: Recount,
    entry: ListEntry,
    name: str,
    old: date | None,
    new: date,
    provisional: bool,
    actor: str,
) -> list[tuple[str, str, str, str, dict[str, Any] | None]]:
    """Count one recounted deadline; its audit row (moved or not: it is no longer provisional,
    or still is, and the record says which)."""
    result.checked += 1
    result.still_provisional += provisional
    if old != new:
        result.moved.append(
            {"object": f"list_entry:{entry.id}", "field": name, "from": old, "to": new}
        )
    payload = {"field": name, "from": old, "to": new, "provisional": provisional}
    return [(actor, "calendar.recount", "list_entry", str(entry.id), payload)]


def _recount_version(
    version: ResultVersion, batch: Batch, calendar: WorkdayCalendar, actor: str, result: Recount
) -> list[tuple[str, str, str, str, dict[str, Any] | None]]:
    old = version.deadline
    version.deadline, version.late, version.deadline_provisional = lateness(
        batch, china_date(version), calendar
    )
    result.checked += 1
    result.still_provisional += version.deadline_provisional
    if old != version.deadline:
        result.moved.append(
            {
                "object": f"result_version:{version.id}",
                "field": "deadline",
                "from": old,
                "to": version.deadline,
            }
        )
    return [
        (
            actor,
            "calendar.recount",
            "result_version",
            str(version.id),
            {
                "field": "deadline",
                "from": old,
                "to": version.deadline,
                "late": version.late,
                "provisional": version.deadline_provisional,
            },
        )
    ]


def _write_file(folder: Path, year: int, text: bytes) -> None:
    """The arrangement in place by rename (never half written)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(text)
    os.replace(tmp, folder / f"{year}.yaml")
