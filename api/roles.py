"""Who may call what: every role dependency of the JSON API and of the pages, in one place.

Both faces admit the same groups of roles (an administrator is always admitted); they differ
only in how a refusal looks — 401/403 JSON for the API, the login page or a Chinese 403 page
for the pages. Each dependency carries the roles it admits (`.roles`), so
`tests/architecture/test_access.py` can compare every route with the declared access table.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from api.deps import CurrentUser, OptionalUser, Unauthorized, ensure_role
from supervision.accounts.models import Role, User

# The groups (administrators are admitted everywhere a role is required).
PLANNERS = (Role.planner,)
REVIEWERS = (Role.reviewer,)
INSPECTORS = (Role.inspector,)
STAFF = (Role.planner, Role.reviewer, Role.inspector)
READERS = (Role.planner, Role.reviewer)  # staff who read every batch, result and list
CONFLICT_DECLARERS = (Role.planner, Role.inspector)
LOOKUP = (Role.liaison, Role.planner, Role.reviewer)  # the restrictions lookup
ADMINS: tuple[Role, ...] = ()


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """An API dependency admitting the given roles (admin is always admitted)."""

    async def check(user: CurrentUser) -> User:
        return ensure_role(user, roles)

    check.roles = (Role.admin, *roles)  # type: ignore[attr-defined]
    return check


# ---- the JSON API --------------------------------------------------------------------------

Staff = Annotated[User, Depends(require_roles(*STAFF))]
Planner = Annotated[User, Depends(require_roles(*PLANNERS))]
Reviewer = Annotated[User, Depends(require_roles(*REVIEWERS))]
InspectorUser = Annotated[User, Depends(require_roles(*INSPECTORS))]
StaffReader = Annotated[User, Depends(require_roles(*READERS))]
ConflictWriter = Annotated[User, Depends(require_roles(*CONFLICT_DECLARERS))]
Liaison = Annotated[User, Depends(require_roles(*LOOKUP))]
Admin = Annotated[User, Depends(require_roles(*ADMINS))]


# ---- the pages -----------------------------------------------------------------------------


async def page_context(request: Request, user: OptionalUser) -> User | None:
    """Runs for every page: keeps the user for the header."""
    request.state.user = user
    return user


PageUser = Annotated[User | None, Depends(page_context)]


def page_roles(*roles: Role) -> Callable[[User | None], Awaitable[User]]:
    """The API's role rule for pages; anonymous visitors go to the login page."""

    async def dependency(user: PageUser) -> User:
        if user is None:
            raise Unauthorized("请先登录", "authentication required")
        return ensure_role(user, roles)

    dependency.roles = (Role.admin, *roles)  # type: ignore[attr-defined]
    return dependency


StaffPage = Annotated[User, Depends(page_roles(*STAFF))]
ReaderPage = Annotated[User, Depends(page_roles(*READERS))]
PlannerPage = Annotated[User, Depends(page_roles(*PLANNERS))]
ReviewerPage = Annotated[User, Depends(page_roles(*REVIEWERS))]
AdminPage = Annotated[User, Depends(page_roles(*ADMINS))]
LookupPage = Annotated[User, Depends(page_roles(*LOOKUP))]
SignedInPage = Annotated[User, Depends(page_roles(*Role))]


def is_planner(user: User | None) -> bool:
    """Shows the planner's actions on a page (the routes check again)."""
    return user is not None and user.role in (Role.admin, *PLANNERS)


def is_reader(user: User | None) -> bool:
    return user is not None and user.role in (Role.admin, *READERS)


# Where each role's work is: the page a sign-in without a return address lands on.
LANDING = {
    Role.admin: "/staff/admin/users",
    Role.planner: "/staff",
    Role.reviewer: "/staff/tasks",
    Role.inspector: "/staff/tasks",
    Role.liaison: "/staff/lookup",
}


def landing_for(user: User) -> str:
    return LANDING.get(user.role, "/staff")
