"""Demo consequences, so the public lists and the staff's candidate pages are not empty.

The daily jobs' own steps, run once on the demo city: last year's missed annual reports are
proposed for the abnormal-operation list, the demo reviewer lists the first of them with
decision numbers (the seed city listed 264 entities in its year), and the monthly zombie and
compulsory-deregistration findings run. Nothing here bypasses a rule: the service functions
decide, exactly as the pages and the API would.
"""

from datetime import date

from sqlmodel import Session, col, func, select

from supervision.accounts.models import User
from supervision.clock import Clock
from supervision.enforcement import schemas as s
from supervision.enforcement import service, zombies
from supervision.enforcement.models import EntryState, ListEntry
from supervision.enforcement.rulebook import rulebook

LISTED = 264  # the seed city's listings in its reform year


def build_demo_consequences(session: Session, *, clock: Clock, reviewer: User) -> dict[str, int]:
    if session.exec(select(func.count()).select_from(ListEntry)).one():
        return {}  # already there
    book = rulebook()
    today = clock.today()
    # The latest reporting period that has ended: 30 June of this year, or of the last one.
    year = today.year if today > date(today.year, *service.REPORTING_DEADLINE) else today.year - 1
    proposed = service.propose_annual_report_listings(session, clock, year, book=book, actor="demo")
    first = session.exec(
        select(ListEntry.id, ListEntry.decide_by)
        .where(ListEntry.state == EntryState.proposed)
        .order_by(col(ListEntry.id))
        .limit(LISTED)
    ).all()
    for n, (entry_id, decide_by) in enumerate(first, start=1):
        on = min(decide_by, today) if decide_by else today
        service.decide(
            session,
            entry_id,
            s.DecisionIn(
                decision="list",
                reason=f"未按规定期限公示{year - 1}年度报告",
                decision_no=f"昌市监异列〔{on.year}〕{n}号",
                decided_on=on,
            ),
            user=reviewer,
            clock=clock,
            book=book,
        )
    found = zombies.all_zombie_candidates(session, clock, book, actor="demo")
    found["compulsory_deregistration"] = zombies.deregistration_candidates(
        session, clock, book, actor="demo"
    )
    return {"abnormal_proposed": proposed, "abnormal_listed": len(first), **found}
