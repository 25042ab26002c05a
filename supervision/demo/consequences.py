"""Demo consequences, so the public lists and the staff's candidate pages are not empty.

The daily jobs' own steps, run once on the demo city: last year's missed annual reports are
proposed for the abnormal-operation list; the demo reviewer works through every proposal whose
decision is due by today, in the order of its deadline, and lists it when the fact still
stands (the report for that year is still missing) or rejects it otherwise; then the monthly
zombie and compulsory-deregistration findings run. How many are listed follows from the
simulated reports and the rules, not from a target. Nothing here bypasses a rule: the
service functions decide, exactly as the pages and the API would.
"""

from datetime import date

from sqlmodel import Session, col, func, select

from supervision.accounts.models import User
from supervision.calendar.dates import REPORTING_DEADLINE
from supervision.clock import Clock
from supervision.enforcement import decisions, service, zombies
from supervision.enforcement import schemas as s
from supervision.enforcement.models import EntryState, ListEntry
from supervision.enforcement.rulebook import rulebook
from supervision.registry.models import AnnualReport


def build_demo_consequences(session: Session, *, clock: Clock, reviewer: User) -> dict[str, int]:
    if session.exec(select(func.count()).select_from(ListEntry)).one():
        return {}  # already there
    book = rulebook()
    today = clock.today()
    # The latest reporting period that has ended: 30 June of this year, or of the last one.
    year = today.year if today > date(today.year, *REPORTING_DEADLINE) else today.year - 1
    proposed = service.propose_annual_report_listings(session, clock, year, book=book, actor="demo")
    due = session.exec(
        select(ListEntry.id, ListEntry.decide_by, ListEntry.uscc)
        .where(ListEntry.state == EntryState.proposed, col(ListEntry.decide_by) <= today)
        .order_by(col(ListEntry.decide_by), col(ListEntry.id))
    ).all()
    reporting_year = year - 1
    filed_since = set(
        session.exec(select(AnnualReport.uscc).where(AnnualReport.year == reporting_year)).all()
    )
    listed = rejected = 0
    for entry_id, decide_by, uscc in due:
        stands = uscc not in filed_since
        number = None
        if stands:
            listed += 1
            number = f"昌市监异列〔{decide_by.year}〕{listed}号"
        else:
            rejected += 1
        decisions.decide(
            session,
            entry_id,
            s.DecisionCreate(
                decision="list" if stands else "reject",
                reason=(
                    f"未按规定期限公示{reporting_year}年度报告"
                    if stands
                    else f"已公示{reporting_year}年度报告"
                ),
                decision_no=number,
                decided_on=decide_by,
            ),
            user=reviewer,
            clock=clock,
            book=book,
        )
    found = zombies.all_zombie_candidates(session, clock, book, actor="demo")
    found["compulsory_deregistration"] = zombies.deregistration_candidates(
        session, clock, book, actor="demo"
    )
    return {
        "abnormal_proposed": proposed,
        "abnormal_listed": listed,
        "abnormal_rejected": rejected,
        **found,
    }
