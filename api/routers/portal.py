"""The portal as JSON: search the registry, one business's record, the announcements."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import NO_NUL, ClockDep, SessionDep, SettingsDep
from api.errors import ERROR_RESPONSES
from supervision.audit.service import anchors
from supervision.portal import schemas as s
from supervision.portal.announcements import MAX_ITEMS, announcements
from supervision.portal.record import entity_record
from supervision.registry import search

router = APIRouter(prefix="/api/v1/public", tags=["portal"], responses=ERROR_RESPONSES)


@router.get(
    "/entities",
    response_model=s.EntitySearchPublic,
    summary="查询市场主体（统一社会信用代码、代码开头或名称中的任意字词；公开）",
)
def search_entities(
    session: SessionDep,
    q: Annotated[
        str, Query(max_length=200, pattern=NO_NUL, description="名称片段或统一社会信用代码")
    ] = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> s.EntitySearchPublic:
    return s.EntitySearchPublic.model_validate(
        search.search(session, q, page=page, per_page=per_page)
    )


@router.get(
    "/entities/{uscc}",
    response_model=s.EntityRecordPublic,
    summary="市场主体公示信息：登记信息、抽查检查结果、名录记录、正在执行的惩戒措施（公开）",
)
def entity(
    uscc: Annotated[str, Path(max_length=40, pattern=NO_NUL)],
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> s.EntityRecordPublic:
    record = entity_record(session, uscc, data_dir=settings.data_dir, on=clock.today())
    return s.EntityRecordPublic.model_validate(record)


@router.get(
    "/announcements",
    response_model=list[s.AnnouncementPublic],
    summary="公告：计划、承诺、抽取、结果公示与名录决定，最新的在前（公开）",
)
def list_announcements(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 50
) -> list[s.AnnouncementPublic]:
    return [s.AnnouncementPublic.model_validate(a) for a in announcements(session, limit=limit)]


@router.get(
    "/audit-anchors",
    response_model=list[s.AuditAnchorPublic],
    summary="审计日志锚点：每日公布的链头（保存后可用 supervision audit verify --anchors 核验；公开）",
)
def audit_anchors(session: SessionDep) -> list[s.AuditAnchorPublic]:
    return [s.AuditAnchorPublic.model_validate(a.__dict__) for a in anchors(session)]
