"""Each role's day in Chromium: the inspector on a 390×844 phone records a result with two
photos and submits; the reviewer lists 1,000 missed-annual-report proposals in one act; an
admin creates a user, the user changes the password and the old session stops working."""

import random
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import insert
from sqlmodel import select

from supervision.accounts.service import UserCreate, create_user
from supervision.db import transaction
from supervision.enforcement import schemas as es
from supervision.enforcement import service as enforcement
from supervision.enforcement.models import EntryState, ListEntry
from supervision.enforcement.rulebook import rulebook
from supervision.planning import drawing, freeze, queries, service
from supervision.planning import schemas as ps
from supervision.registry.models import Entity
from supervision.registry.uscc import make_uscc
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import Server
from tests.factories import IMMEDIATE, batch_body
from tests.inspection.test_pages import PNG

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
CODE = "CJ-2026-X01"


def _sign_in(page, server: Server, username: str, password: str = TEST_PASSWORD) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_the_inspector_records_a_result_on_a_phone(
    server: Server, chromium, screenshots, tmp_path
) -> None:
    storage = server.root / "files"
    with transaction(server.engine) as session:
        service.create_plan(
            session,
            ps.PlanCreate(
                code="CJ-2026", year=2026, name="2026年度抽查计划", authority="昌吉市市场监督管理局"
            ),
            actor="e2e",
            clock=server.clock,
        )
        service.publish_plan(session, "CJ-2026", actor="e2e", clock=server.clock)
        body = batch_body(CODE, window_start="2026-11-01", window_end="2026-11-25")
        service.create_batch(
            session, "CJ-2026", ps.BatchCreate.model_validate(body), actor="e2e", clock=server.clock
        )
        freeze.freeze_batch(
            session,
            CODE,
            actor="e2e",
            clock=server.clock,
            storage=storage,
            acknowledge_unassigned=True,
            rules=IMMEDIATE,
        )
        drawing.enter_entropy(
            session,
            CODE,
            ["1 2 3 4 5 6"],
            actor="e2e",
            clock=server.clock,
            storage=storage,
            rules=IMMEDIATE,
        )
    with transaction(server.engine) as session:
        task = queries.drawn_tasks(session, service.get_batch(session, CODE))[0]
        create_user(
            session,
            UserCreate(
                username="e2e-insp",
                display_name="王检查",
                password=TEST_PASSWORD,
                role="inspector",
                inspector_badge=task.team[0]["badge_no"],
            ),
            actor="e2e",
            clock=server.clock,
        )
    phone = chromium.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = phone.new_page()
    _sign_in(page, server, "e2e-insp")
    page.wait_for_url(f"{server.url}/staff/tasks")  # the inspector lands on the task cards
    assert page.locator("ol.records.tasks li").count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshots(page, "workspace-inspector-tasks-phone")
    page.get_by_role("link", name=task.entity_name).first.click()
    page.get_by_label("1 未发现问题").first.check()
    page.get_by_label("书面检查").first.check()
    page.get_by_label("检查日期").first.fill("2026-11-20")
    page.get_by_label("发现的问题").first.fill("现场门头与登记名称一致，未发现问题")
    photos = [tmp_path / "a.png", tmp_path / "b.png"]
    photos[0].write_bytes(PNG)
    photos[1].write_bytes(PNG + b"\x00")
    page.set_input_files("#file", [str(p) for p in photos])
    page.get_by_role("button", name="上传证据并保存草稿").click()
    page.get_by_text("已上传证据文件").wait_for()
    assert (
        page.get_by_label("发现的问题").first.input_value() == "现场门头与登记名称一致，未发现问题"
    )
    assert page.get_by_label("1 未发现问题").first.is_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshots(page, "workspace-inspector-result-phone")
    page.get_by_role("button", name="提交审核").click()
    page.get_by_text("检查结果已提交，等待审核").wait_for()
    phone.close()


def test_the_reviewer_lists_a_thousand_proposals_in_one_act(
    server: Server, chromium, screenshots
) -> None:
    from supervision.settings import Settings

    rng = random.Random(3)
    book = rulebook(Settings().data_dir)
    now = server.clock.now()
    with transaction(server.engine) as session:
        codes = sorted(
            {
                make_uscc(
                    "9", "1", "652301", "".join(rng.choices("0123456789ABCDEFGHJKLMNPQRTUWXY", k=8))
                )
                for _ in range(1100)
            }
        )[:1000]
        session.execute(
            insert(Entity),
            [
                {
                    "uscc": c,
                    "uscc_check_ok": True,
                    "name": f"昌吉市年报测试{n}号商行",
                    "entity_type": "enterprise",
                    "legal_rep": "李四",
                    "registered_address": "昌吉市",
                    "region_code": "652301",
                    "industry_code": "F51",
                    "registration_authority": "昌吉市市场监督管理局",
                    "supervising_unit": "652301-01",
                    "established_on": date(2018, 1, 1),
                    "status": "active",
                    "risk_class": "B",
                    "created_at": now,
                    "updated_at": now,
                }
                for n, c in enumerate(codes)
            ],
        )
        planner = create_user(
            session,
            UserCreate(
                username="e2e-prop", display_name="提议", password=TEST_PASSWORD, role="planner"
            ),
            actor="e2e",
            clock=server.clock,
        )
        create_user(
            session,
            UserCreate(
                username="e2e-rev", display_name="赵审核", password=TEST_PASSWORD, role="reviewer"
            ),
            actor="e2e",
            clock=server.clock,
        )
        for c in codes:
            enforcement.propose(
                session,
                es.ProposalCreate(
                    list_kind="abnormal",
                    uscc=c,
                    reason_code="annual_report",
                    fact_on=date(2026, 7, 1),
                ),
                user=planner,
                clock=server.clock,
                book=book,
            )
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, server, "e2e-rev")
    page.wait_for_url(f"{server.url}/staff/tasks")
    page.goto(f"{server.url}/staff/enforcement?reason_code=annual_report")
    assert "待决定的列入建议（1000）" in page.inner_text("main")
    page.get_by_label("按筛选条件全部选中（共 1000 条，包括其他页）").check()
    page.get_by_label("决定理由").fill("未按照规定期限公示2025年度年度报告")
    page.get_by_label("文号前缀").fill("昌市监异列〔2026〕")
    page.get_by_label("起始号").fill("1")
    page.get_by_label("决定日期").fill("2026-11-20")
    page.get_by_role("button", name="作出决定").click()
    page.get_by_text("请勾选“我已核对”").wait_for()  # irreversible: confirmation first
    page.get_by_label("按筛选条件全部选中（共 1000 条，包括其他页）").check()
    page.get_by_label("我已核对").check()
    page.get_by_role("button", name="作出决定").click()
    page.get_by_text("已对 1000 条建议作出决定").wait_for(timeout=60_000)
    screenshots(page, "workspace-reviewer-bulk")
    with transaction(server.engine) as session:
        listed = session.exec(select(ListEntry).where(ListEntry.state == EntryState.listed)).all()
        assert len(listed) == 1000 and len({e.decision_no for e in listed}) == 1000
    context.close()


def test_an_admin_creates_a_user_who_changes_the_password(
    server: Server, chromium, screenshots
) -> None:
    with transaction(server.engine) as session:
        create_user(
            session,
            UserCreate(
                username="e2e-admin", display_name="管理员", password=TEST_PASSWORD, role="admin"
            ),
            actor="e2e",
            clock=server.clock,
        )
    admin = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    _sign_in(admin, server, "e2e-admin")
    admin.wait_for_url(f"{server.url}/staff/admin/users")
    admin.get_by_label("用户名").fill("zhou.li")
    admin.get_by_label("姓名").fill("周丽")
    admin.get_by_label("角色").select_option("reviewer")
    admin.get_by_label("初始密码").fill("initial-pass-9")
    admin.get_by_role("button", name="新建用户").click()
    admin.get_by_text("已新建用户 zhou.li").wait_for()
    screenshots(admin, "workspace-admin-user")

    old = chromium.new_context(viewport=PHONE, locale="zh-CN").new_page()
    _sign_in(old, server, "zhou.li", "initial-pass-9")
    old.wait_for_url(f"{server.url}/staff/tasks")
    user = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    _sign_in(user, server, "zhou.li", "initial-pass-9")
    user.wait_for_url(f"{server.url}/staff/tasks")
    user.get_by_role("link", name="修改密码").click()
    user.get_by_label("当前密码").fill("initial-pass-9")
    user.get_by_label("新密码", exact=True).fill("brand-new-pass-9")
    user.get_by_label("再次输入新密码").fill("brand-new-pass-9")
    user.get_by_role("button", name="修改密码").click()
    user.get_by_text("密码已修改").wait_for()
    # The other device's session has ended: it is sent to the login page.
    old.goto(f"{server.url}/staff/tasks")
    assert "/login" in old.url
    _sign_in(user, server, "zhou.li", "brand-new-pass-9")
    user.wait_for_url(f"{server.url}/staff/tasks")


def test_a_planner_is_stopped_by_the_confirmation_and_the_acknowledgement(
    server: Server, chromium, screenshots
) -> None:
    """Freezing is irreversible: without the ticked confirmation nothing happens; with a
    foreseeable shortfall of inspectors (one entity each at most) the planner must also
    acknowledge it, and the acknowledgement is recorded with the freeze."""
    from supervision.audit.models import AuditEntry
    from tests.e2e.conftest import PLANNER

    code = "CJ-2026-X02"
    with transaction(server.engine) as session:
        service.create_plan(
            session,
            ps.PlanCreate(
                code="CJ-2026", year=2026, name="2026年度抽查计划", authority="昌吉市市场监督管理局"
            ),
            actor="e2e",
            clock=server.clock,
        )
        # Announced a day ahead: the page freezes at the server's moment, with the 24 h notice.
        ceremony = (server.clock.now() + timedelta(days=1)).isoformat()
        body = batch_body(code, max_load=1, ceremony_at=ceremony)
        service.create_batch(
            session, "CJ-2026", ps.BatchCreate.model_validate(body), actor="e2e", clock=server.clock
        )
    page = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    _sign_in(page, server, *PLANNER)
    page.wait_for_url(f"{server.url}/staff")
    page.goto(f"{server.url}/staff/batches/{code}")
    assert "户抽中后将无法组成完整检查组" in page.inner_text("main")
    freeze_button = page.get_by_role("button", name="冻结并公示承诺")

    def state() -> str:
        with transaction(server.engine) as session:
            return service.get_batch(session, code).state

    # 1. Neither box ticked: stopped by the confirmation.
    freeze_button.click()
    page.get_by_text("请先勾选确认").first.wait_for()
    assert state() == "draft"
    # 2. Confirmed, but the shortfall not acknowledged: stopped, saying how many and why.
    page.get_by_label("我确认：冻结后抽取参数和承诺值立即向社会公示，不能修改").check()
    freeze_button.click()
    page.get_by_text("须确认知悉").first.wait_for()
    screenshots(page, "workspace-planner-acknowledgement")
    assert state() == "draft"
    # 3. Both: frozen, and the acknowledgement is on record with the freeze.
    page.get_by_label(re.compile("我知悉约 \\d+ 户抽中后将无法组成完整检查组")).check()
    page.get_by_label("我确认：冻结后抽取参数和承诺值立即向社会公示，不能修改").check()
    freeze_button.click()
    page.get_by_text("已冻结：抽取参数与承诺值已公示").wait_for()
    assert state() == "frozen"
    with transaction(server.engine) as session:
        row = session.exec(
            select(AuditEntry).where(AuditEntry.action == "planning.batch.freeze")
        ).one()
        assert row.actor == PLANNER[0]
        assert '"acknowledged_unassigned":0' not in row.payload
        assert '"acknowledged_unassigned":' in row.payload
