"""The demo's accounts: the bureau's staff, and one account per inspector for the year."""

from sqlmodel import Session, select

from supervision.accounts.models import User
from supervision.accounts.service import UserCreate, create_user
from supervision.clock import Clock
from supervision.registry.models import Inspector

DEMO_PASSWORD = "demo-password"
DEMO_USERS = (
    ("admin", "系统管理员", "admin", None),
    ("planner", "计划科 张敏", "planner", None),
    ("reviewer", "法规科 刘芳", "reviewer", None),
    ("liaison", "发改委信用平台", "liaison", None),
)


def create_demo_accounts(
    session: Session, clock: Clock, *, every_inspector: bool = False
) -> list[tuple[str, str, str, str | None]]:
    """The staff accounts and `inspector` (the first active inspector); with
    `every_inspector`, each other inspector too, under the badge number as user name (the year
    has every team record its own results). Existing accounts are left as they are."""
    inspectors = session.exec(
        select(Inspector).where(Inspector.active == True).order_by(Inspector.badge_no)  # noqa: E712
    ).all()
    accounts = list(DEMO_USERS)
    for n, inspector in enumerate(inspectors):
        if n and not every_inspector:
            break
        name = "inspector" if n == 0 else inspector.badge_no
        accounts.append((name, inspector.name, "inspector", inspector.badge_no))
    for username, display, role, badge in accounts:
        if session.exec(select(User).where(User.username == username)).first():
            continue
        create_user(
            session,
            UserCreate(
                username=username,
                display_name=display,
                password=DEMO_PASSWORD,
                role=role,
                inspector_badge=badge,
            ),
            actor="demo",
            clock=clock,
        )
    return accounts[: len(DEMO_USERS) + 1]
