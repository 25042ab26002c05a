"""The portal's business lookup: find any business, read its public record.

``/entities?q=`` searches the whole registry (by credit code, its beginning, or any fragment
of the name — `supervision.registry.search`); ``/entities/{uscc}`` is the record in the order
of the national publicity system (`supervision.portal.record`). Both are public and show
nothing the disclosure table keeps from the public.
"""

import hashlib

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from api.deps import (
    ClockDep,
    SessionDep,
    SettingsDep,
    inline_read,
    run_db,
    run_long,
)
from api.pages.render import PageRoute, page_links, render
from api.roles import PageUser, is_reader, page_context
from reports import charts
from supervision.audit.service import anchors
from supervision.enforcement.rulebook import rulebook
from supervision.errors import Invalid, NotFound
from supervision.planning.queries import published_plan_years
from supervision.portal import inference
from supervision.portal.announcements import KIND_LABELS, announcements
from supervision.portal.feed import atom_feed
from supervision.portal.opendata import DATASETS, FORMATS, csv_chunks, json_chunks
from supervision.portal.record import entity_record
from supervision.portal.statistics import PortalStats, portal_stats, year_summary
from supervision.registry import search as entity_search
from supervision.registry.reference import result_codebook

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[Depends(page_context)]
)
SEARCH_PAGE_SIZE = 20
MAX_PAGE = 1000


def page_number(raw: str, last: int = MAX_PAGE) -> int:
    """A page number from the query string: a positive integer, else the first page."""
    return int(raw) if raw.isdigit() and 0 < int(raw) <= last else 1


@router.get("/entities")
async def entities(
    request: Request, session: SessionDep, user: PageUser, q: str = "", page: str = "1"
) -> Response:
    paging = {"page": page_number(page), "per_page": SEARCH_PAGE_SIZE}
    # A credit code: the unique index, on the event loop (and so the request's commit);
    # anything else, or a code no entity bears, through the name indexes, off the loop.
    result = None
    if entity_search.as_code(q):
        inline_read(request)
        result = await run_db(request, entity_search.search_code, session, q, **paging)
    if result is None:
        result = await run_long(request, entity_search.search, session, q, **paging)
    if result.how == "code" and result.total == 1 and len(result.query) >= 18:
        return RedirectResponse(f"/entities/{result.hits[0].uscc}", status_code=303)
    pages = page_links(result.total, result.page, SEARCH_PAGE_SIZE, {"q": result.query})
    return render(
        request,
        "public/entities.html",
        {"result": result, "q": result.query, "pages": pages},
        title=f"查询市场主体：{result.query}" if result.query else "查询市场主体",
    )


@router.get("/entities/{uscc}", dependencies=[Depends(inline_read)])
async def entity_page(
    request: Request,
    uscc: str,
    session: SessionDep,
    user: PageUser,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    # One of the portal's hot pages: on the embedded SQLite database its read runs inline
    # (a thread hop costs more than the indexed reads), elsewhere in the thread pool.
    record = await run_db(
        request, entity_record, session, uscc[:40], data_dir=settings.data_dir, on=clock.today()
    )
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


LICENCE = (
    "本页数据依据《中华人民共和国政府信息公开条例》和《企业信息公示暂行条例》主动公开，"
    "可免费下载、复制、传播和用于任何合法目的；使用时请注明来源“{authority}”，"
    "并以本平台公示的最新版本为准。"
)


@router.get("/open-data")
def open_data(
    request: Request, session: SessionDep, user: PageUser, settings: SettingsDep
) -> Response:
    years = published_plan_years(session)
    return render(
        request,
        "public/open_data.html",
        {
            "datasets": list(DATASETS.values()),
            "formats": FORMATS,
            "years": years,
            "licence": LICENCE.format(authority=settings.authority_name),
        },
        title="开放数据",
    )


MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


@router.get("/open-data/{filename}")
def open_data_file(
    filename: str, session: SessionDep, settings: SettingsDep, user: PageUser, year: str = ""
) -> Response:
    name, _, fmt = filename.rpartition(".")
    dataset = DATASETS.get(name)
    if dataset is None or fmt not in FORMATS:
        raise NotFound(
            f"没有名为“{filename[:60]}”的开放数据文件", f"no open-data file {filename!r}"
        )
    if year and not (year.isdigit() and 2000 <= int(year) <= 2100):
        raise Invalid("年度应为四位数字，例如 2026", "year must be four digits")
    chosen = int(year) if year else None
    book = result_codebook(settings.data_dir)
    rules = rulebook(settings.data_dir)
    chunks = csv_chunks if fmt == "csv" else json_chunks

    def body():
        # The request's transaction has ended by now (the session dependency commits before
        # the response starts); the session opens a read of its own as the client takes the
        # rows, chunk by chunk, and it is closed here when the last one is sent.
        try:
            yield from chunks(
                dataset, dataset.rows(session, year=chosen, book=book, rulebook=rules)
            )
        finally:
            session.close()

    download = f"{name}-{chosen or 'all'}.{fmt}"
    return StreamingResponse(
        body(),
        media_type=MEDIA[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{download}"',
            "Cache-Control": "public, max-age=300",
        },
    )


TOP_GROUPS = 12


def _drawings(stats: PortalStats) -> dict[str, str]:
    if stats.drawings:
        return stats.drawings
    d: dict[str, str] = {}
    if stats.coverage:
        d["coverage"] = charts.bar_chart(
            [r.label for r in stats.coverage],
            [r.rate for r in stats.coverage],
            title="抽查覆盖率（按计划年度）",
        )
    if stats.codes:
        d["codes"] = charts.bar_chart(
            [r.label for r in stats.codes],
            [r.rate for r in stats.codes],
            title="各检查结果所占比例",
        )
    top = stats.industries[:TOP_GROUPS]
    if top:
        d["industries"] = charts.bar_chart(
            [r.label[:14] for r in top], [r.rate for r in top], title="发现问题比例（按行业门类）"
        )
    units = stats.units[:TOP_GROUPS]
    if units:
        d["units"] = charts.bar_chart(
            [r.label[:14] for r in units],
            [r.rate for r in units],
            title="发现问题比例（按检查单位）",
        )
    if stats.months:
        d["months"] = charts.line_chart(
            [r.label for r in stats.months],
            {"公示户数": [r.count for r in stats.months]},
            title="每月公示检查结果户数",
        )
        d["on_time"] = charts.line_chart(
            [r.label for r in stats.months],
            {"按期公示比例": [r.hits / r.extra if r.extra else 0 for r in stats.months]},
            title="按期公示比例（20个工作日内）",
            percent=True,
        )
    stats.drawings = d
    return d


@router.get("/statistics")
def statistics(
    request: Request,
    session: SessionDep,
    user: PageUser,
    settings: SettingsDep,
    clock: ClockDep,
    batch: str = "",
) -> Response:
    book = result_codebook(settings.data_dir)
    years = published_plan_years(session)
    stats = portal_stats(session, book, request.app.state.stats_cache)
    est_batches = inference.estimable_batches(session)
    chosen = next(
        (b for b in est_batches if b.code == batch), est_batches[0] if est_batches else None
    )
    est = None
    if chosen is not None:
        found = inference.batch_estimates(session, chosen, book, storage=settings.storage_dir)
        est = found if is_reader(user) else found.public() if found else None
    # Each chart is its own SVG file (its inline styles stay out of the page, which allows
    # none); the link carries the drawing's digest, so a changed chart is fetched anew.
    charts_ = {
        name: f"/statistics/charts/{name}.svg?v={hashlib.sha256(svg.encode()).hexdigest()[:12]}"
        for name, svg in _drawings(stats).items()
    }
    return render(
        request,
        "public/statistics.html",
        {
            "stats": stats,
            "charts": charts_,
            "top": TOP_GROUPS,
            "est_batches": est_batches,
            "est": est,
            "years": years,
            "summaries": [year_summary(session, y, clock.today()) for y in years],
        },
        title="统计",
    )


@router.get("/statistics/charts/{name}.svg")
def statistics_chart(
    request: Request, name: str, session: SessionDep, settings: SettingsDep
) -> Response:
    stats = portal_stats(session, result_codebook(settings.data_dir), request.app.state.stats_cache)
    svg = _drawings(stats).get(name)
    if svg is None:
        raise NotFound("没有这张统计图", f"no chart {name!r}")
    return Response(
        '<?xml version="1.0" encoding="utf-8"?>\n' + svg,
        media_type="image/svg+xml",
        headers={
            # An image: its own styles, nothing else (no script runs in an <img>).
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "Cache-Control": "public, max-age=300",
        },
    )


@router.get("/audit-anchors")
def audit_anchors_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    """The audit log's published heads, newest first, and how to use one."""
    rows = list(reversed(anchors(session)))
    return render(request, "public/audit_anchors.html", {"anchors": rows}, title="审计锚点")
