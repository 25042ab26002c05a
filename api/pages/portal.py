"""The portal's business lookup: find any business, read its public record.

``/entities?q=`` searches the whole registry (by credit code, its beginning, or any fragment
of the name — `supervision.registry.search`); ``/entities/{uscc}`` is the record in the order
of the national publicity system (`supervision.portal.record`). Both are public and show
nothing the disclosure table keeps from the public.
"""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import ClockDep, SessionDep, SettingsDep
from api.pages.render import PageRoute, page_links, render
from api.roles import PageUser, page_context
from supervision.portal.announcements import KIND_LABELS, announcements
from supervision.portal.feed import atom_feed
from supervision.portal.record import entity_record
from supervision.registry import search as entity_search

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[Depends(page_context)]
)
SEARCH_PAGE_SIZE = 20
MAX_PAGE = 1000


def page_number(raw: str, last: int = MAX_PAGE) -> int:
    """A page number from the query string: a positive integer, else the first page."""
    return int(raw) if raw.isdigit() and 0 < int(raw) <= last else 1


@router.get("/entities")
def entities(
    request: Request, session: SessionDep, user: PageUser, q: str = "", page: str = "1"
) -> Response:
    result = entity_search.search(session, q, page=page_number(page), per_page=SEARCH_PAGE_SIZE)
    if result.how == "code" and result.total == 1 and len(result.query) >= 18:
        return RedirectResponse(f"/entities/{result.hits[0].uscc}", status_code=303)
    pages = page_links(result.total, result.page, SEARCH_PAGE_SIZE, {"q": result.query})
    return render(
        request,
        "public/entities.html",
        {"result": result, "q": result.query, "pages": pages},
        title=f"查询市场主体：{result.query}" if result.query else "查询市场主体",
    )


@router.get("/entities/{uscc}")
def entity_page(
    request: Request,
    uscc: str,
    session: SessionDep,
    user: PageUser,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    record = entity_record(session, uscc[:40], data_dir=settings.data_dir, on=clock.today())
    return render(request, "public/entity.html", {"record": record}, title=record.name)


@router.get("/announcements")
def announcements_page(
    request: Request, session: SessionDep, user: PageUser, kind: str = ""
) -> Response:
    items = announcements(session, limit=200)
    if kind in KIND_LABELS:
        items = [a for a in items if a.kind == kind]
    return render(
        request,
        "public/announcements.html",
        {"items": items, "kinds": KIND_LABELS, "kind": kind if kind in KIND_LABELS else ""},
        title="公告",
    )


FEED_ITEMS = 50


@router.get("/feed.xml")
def feed(session: SessionDep, settings: SettingsDep, clock: ClockDep) -> Response:
    body = atom_feed(
        announcements(session, limit=FEED_ITEMS),
        authority=settings.authority_name,
        public_url=settings.public_url,
        now=clock.now(),
    )
    return Response(
        body,
        media_type="application/atom+xml; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )
