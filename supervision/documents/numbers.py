"""Issue document numbers (发文字号) from per-authority, per-year series.

A document is identified by its kind and what it is of (``object_key``: a batch code, a
batch and an entity's code, a year…). Its number is issued the first time it is needed and
kept: building the same document again prints the same number. Numbers of a series are
consecutive in the order they are issued and never reused (the unique constraints refuse a
second document with the same number, or a second number for the same document).
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from supervision.audit.service import record_change
from supervision.clock import Clock
from supervision.documents.models import DocumentNumber
from supervision.errors import Invalid

FILE = "documents.yaml"
# The advisory lock that serialises issuing on PostgreSQL ("docno" in ASCII).
NUMBER_LOCK_KEY = 0x646F636E6F


@dataclass(frozen=True)
class Series:
    """data/documents.yaml: the series, and what the documents print about each authority."""

    authorities: dict[str, dict[str, str]]  # authority name → abbreviation, review body…
    kinds: dict[str, str]  # document kind → series character(s)
    materials: dict[str, str]  # inspection method → what a notice asks to prepare
    duty: str  # the duty to cooperate, printed on notices

    def prefix(self, authority: str, kind: str) -> str:
        if kind not in self.kinds:
            raise Invalid(f"没有“{kind}”类文书的编号序列", f"no number series for {kind!r}")
        abbreviation = self.authorities.get(authority, {}).get("abbreviation")
        return (abbreviation or authority[:2] + "市监") + self.kinds[kind]

    def review_body(self, authority: str) -> str:
        return self.authorities.get(authority, {}).get("review_body") or "本级人民政府"

    def contact(self, authority: str) -> str:
        return self.authorities.get(authority, {}).get("contact") or authority

    def address(self, authority: str) -> str:
        """Where the authority holds its draw ceremonies (its own name when not listed)."""
        return self.authorities.get(authority, {}).get("address") or authority


@lru_cache(maxsize=8)
def _load(path: Path, mtime: float) -> Series:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Series(
        {
            name: {k: str(v) for k, v in (a or {}).items()}
            for name, a in (raw.get("authorities") or {}).items()
        },
        {str(k): str(v) for k, v in (raw.get("series") or {}).items()},
        {str(k): str(v) for k, v in (raw.get("materials") or {}).items()},
        str(raw.get("duty") or ""),
    )


def series(data_dir: Path) -> Series:
    path = data_dir / FILE
    return _load(path, path.stat().st_mtime)


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": NUMBER_LOCK_KEY})


def _next(session: Session, prefix: str, year: int) -> int:
    last = session.execute(
        select(func.max(DocumentNumber.number)).where(
            DocumentNumber.prefix == prefix, DocumentNumber.year == year
        )
    ).scalar_one()
    return (last or 0) + 1


def issue(
    session: Session,
    data_dir: Path,
    *,
    kind: str,
    keys: list[str],
    authority: str,
    year: int,
    actor: str,
    clock: Clock,
) -> dict[str, DocumentNumber]:
    """The numbers of the documents ``keys`` of one kind: those already issued as they were,
    the others issued now, consecutively in the order given, with one audit row for the lot.

    Issued in a short transaction of its own, committed at once, on the caller's database: a
    reader rendering a long PDF does not hold the write lock while it renders, and a number
    once printed stays on record with its document even if the caller's work fails later (the
    same document printed again gets it back). On SQLite the caller must not be holding the
    write lock itself (documents are built in read transactions)."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        bind = bind.execution_options(sqlite_read=False)
    with Session(bind, expire_on_commit=False) as own:
        numbers = _issue(
            own,
            data_dir,
            kind=kind,
            keys=keys,
            authority=authority,
            year=year,
            actor=actor,
            clock=clock,
        )
        own.commit()
    return numbers


def _issue(
    session: Session,
    data_dir: Path,
    *,
    kind: str,
    keys: list[str],
    authority: str,
    year: int,
    actor: str,
    clock: Clock,
) -> dict[str, DocumentNumber]:
    def issued() -> dict[str, DocumentNumber]:
        return {
            n.object_key: n
            for i in range(0, len(keys), 500)
            for n in session.exec(
                select(DocumentNumber).where(
                    DocumentNumber.kind == kind,
                    col(DocumentNumber.object_key).in_(keys[i : i + 500]),
                )
            )
        }

    found = issued()
    if all(k in found for k in keys):
        return found
    # Writers take turns (SQLite: the write lock; PostgreSQL: an advisory lock), then look
    # again: another may have issued some of these while this one waited.
    _lock(session)
    found = issued()
    missing = [k for k in dict.fromkeys(keys) if k not in found]
    if not missing:
        return found
    prefix = series(data_dir).prefix(authority, kind)
    first = _next(session, prefix, year)
    now = clock.now()
    rows = [
        DocumentNumber(
            authority=authority,
            prefix=prefix,
            year=year,
            number=first + i,
            kind=kind,
            object_key=key,
            issued_at=now,
            issued_by=actor,
        )
        for i, key in enumerate(missing)
    ]
    session.add_all(rows)
    session.flush()
    record_change(
        session,
        actor,
        "documents.number.issue",
        "document",
        f"{kind}:{missing[0]}"[:64],
        {
            "kind": kind,
            "prefix": prefix,
            "year": year,
            "first": rows[0].text,
            "last": rows[-1].text,
            "count": len(rows),
        },
        clock,
    )
    found.update({r.object_key: r for r in rows})
    return found


def number_for(
    session: Session,
    data_dir: Path,
    *,
    kind: str,
    key: str,
    authority: str,
    year: int,
    actor: str,
    clock: Clock,
) -> DocumentNumber:
    return issue(
        session,
        data_dir,
        kind=kind,
        keys=[key],
        authority=authority,
        year=year,
        actor=actor,
        clock=clock,
    )[key]
