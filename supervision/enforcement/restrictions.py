"""May entity X receive benefit Y on day D? The restrictions lookup for other departments.

A measure of the rulebook (in force on D: the regime's statutory measures and the local files'
measures) binds either the entity itself — restricted while it is on one of the measure's lists
on D — or its legal representative — restricted when any entity with the same representative
(matched by the private identity number, which never leaves this module) is on the list, for
the measure's years from the listing decision. Withdrawn listings (objection upheld) never
restrict. The answer is read from the entries' recorded dates, so any past day can be asked.

Two or three indexed queries per lookup: entity by USCC, the entity's entries
(ix_list_entry_uscc_kind_state), and for representative measures the representative's
entities (ix_entity_legal_rep_id_no) joined to their entries.
"""

from __future__ import annotations

import functools
from datetime import date

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlmodel import Session, col

from supervision.calendar.dates import add_years
from supervision.enforcement import schemas as s
from supervision.enforcement.models import EntryState, ListEntry
from supervision.enforcement.rulebook import Rulebook
from supervision.errors import Invalid, NotFound
from supervision.registry.models import Entity

DECIDED = (EntryState.listed, EntryState.removed)
_ENTITY = select(Entity.uscc, Entity.name, Entity.legal_rep_id_no).where(
    Entity.uscc == bindparam("uscc")
)


@functools.cache
def _entries_stmt(binds: str, fixed_period: bool) -> Select:
    """The entries restricting on day :on, built once per shape (statement building is the
    costly part of a lookup; the indexed queries themselves take microseconds)."""
    conds = [
        col(ListEntry.list_kind).in_(bindparam("lists", expanding=True)),
        col(ListEntry.state).in_(DECIDED),
        col(ListEntry.decided_on) <= bindparam("on"),
    ]
    if fixed_period:  # a fixed period from the listing decision
        conds.append(col(ListEntry.decided_on) > bindparam("since"))
    else:  # while listed: until removed or expired
        conds += [
            or_(col(ListEntry.removed_on).is_(None), col(ListEntry.removed_on) > bindparam("on")),
            or_(col(ListEntry.expires_on).is_(None), col(ListEntry.expires_on) > bindparam("on")),
        ]
    if binds == "legal_rep":
        conds.append(Entity.legal_rep_id_no == bindparam("rep"))
    else:
        conds.append(ListEntry.uscc == bindparam("uscc"))
    return (
        select(
            ListEntry.id,
            ListEntry.list_kind,
            ListEntry.uscc,
            ListEntry.reason_code,
            ListEntry.rulebook,
            ListEntry.legal_basis,
            ListEntry.decided_on,
            ListEntry.decision_no,
            ListEntry.removed_on,
            ListEntry.expires_on,
            Entity.name,
        )
        .join(Entity, Entity.uscc == ListEntry.uscc)
        .where(and_(*conds))
        .order_by(ListEntry.decided_on, ListEntry.id)
    )


def _reason(book: Rulebook, rulebook: str, kind: str, code: str) -> str:
    regime = book.regime(rulebook)
    r = regime.reason(code) if kind == "abnormal" else regime.serious_reason(code)
    return r.label if r else code


def restrictions(
    session: Session, book: Rulebook, uscc: str, measure: str, on: date
) -> s.RestrictionAnswer:
    known = book.all_measure_codes()
    if measure not in known:
        raise Invalid(
            f"未知的惩戒措施“{measure}”（可用：{'、'.join(sorted(known))}）",
            f"unknown measure {measure!r} (known: {', '.join(sorted(known))})",
        )
    row = session.connection().execute(_ENTITY, {"uscc": uscc}).first()
    if row is None:
        raise NotFound(f"未找到市场主体 {uscc}", f"no entity {uscc}")
    in_force = book.measures_on(on).get(measure)
    if in_force is None:
        return s.RestrictionAnswer(
            uscc=uscc,
            measure=measure,
            measure_label=None,
            on=on,
            in_force=False,
            restricted=False,
            reasons=[],
        )
    m = in_force.measure
    # Without an identity number on file only the entity's own entries can be matched.
    binds = "legal_rep" if m.binds == "legal_rep" and row.legal_rep_id_no else "entity"
    params = {"lists": list(m.lists), "on": on, "uscc": uscc, "rep": row.legal_rep_id_no}
    if m.years:
        params["since"] = add_years(on, -m.years) if on.year > m.years else date.min
    rows = session.connection().execute(_entries_stmt(binds, bool(m.years)), params).all()
    reasons = [
        s.RestrictionReason(
            list_kind=e.list_kind,
            entry_id=e.id,
            via="entity" if e.uscc == uscc else "legal_rep",
            uscc=e.uscc,
            entity_name=e.name,
            reason_code=e.reason_code,
            reason=_reason(book, e.rulebook, e.list_kind, e.reason_code),
            listing_basis=e.legal_basis or "",
            measure_basis=m.legal_basis,
            listed_on=e.decided_on,
            decision_no=e.decision_no or "",
            until=(add_years(e.decided_on, m.years) if m.years else (e.removed_on or e.expires_on)),
        )
        for e in rows
    ]
    return s.RestrictionAnswer(
        uscc=uscc,
        measure=measure,
        measure_label=m.label,
        on=on,
        in_force=True,
        restricted=bool(reasons),
        reasons=reasons,
    )


def measures(book: Rulebook, on: date) -> list[s.MeasurePublic]:
    return [
        s.MeasurePublic(
            code=code,
            label=mf.measure.label,
            legal_basis=mf.measure.legal_basis,
            lists=list(mf.measure.lists),
            binds=mf.measure.binds,
            years=mf.measure.years,
            rulebook=mf.rulebook,
        )
        for code, mf in sorted(book.measures_on(on).items())
    ]
