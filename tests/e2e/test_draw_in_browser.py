"""A planner runs a batch from plan to draw in a real browser; a citizen checks it."""

import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.e2e.conftest import PLANNER, Server

pytestmark = pytest.mark.e2e

CODE = "CJ-2026-E01"
DICE = "3 6 1 4 4 2 5 6 1 1 3 2 6 5 4 4 2 1 3 6"
LOTTERY = "体彩排列5 2026-12-01: 7 0 3 9 1"


def _rows(page) -> list[tuple[str, str]]:
    """(USCC, team text) of every drawn entity in the page's results table."""
    out = []
    for row in page.locator("table tbody tr:has(ul.team)").all():
        text = row.inner_text()
        uscc = re.search(r"\b91[0-9A-Z]{16}\b", text)
        team = " ".join(row.locator("ul.team li").all_inner_texts())
        out.append((uscc.group(0) if uscc else "", team))
    return out


def test_plan_batch_freeze_ceremony_and_public_verification(
    server: Server, chromium, screenshots, tmp_path: Path
) -> None:
    staff = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = staff.new_page()

    # Log in.
    page.goto(f"{server.url}/login")
    screenshots(page, "login")
    page.get_by_label("用户名").fill(PLANNER[0])
    page.get_by_label("密码").fill(PLANNER[1])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server.url}/staff")
    assert "李计划" in page.inner_text("header")

    # A plan, published.
    page.goto(f"{server.url}/staff/plans/new")
    page.get_by_label("计划编号").fill("CJ-2026")
    page.get_by_label("计划名称").fill("2026年度“双随机、一公开”抽查工作计划")
    page.get_by_role("button", name="保存为草稿").click()
    page.wait_for_url(f"{server.url}/staff/plans/CJ-2026")
    page.get_by_label("我确认：公示后计划即向社会公开，此后只能公开调整").check()
    page.get_by_role("button", name="公示本计划").click()
    page.get_by_text("年度计划已公示").wait_for()

    # A batch through the form; first a mistake, shown in Chinese with the values kept.
    page.get_by_role("link", name="在本计划中新建批次").click()
    page.get_by_label("批次编号").fill(CODE)
    page.get_by_label("批次名称").fill("2026年企业公示信息抽查")
    page.get_by_label("企业公示信息检查").check()
    page.get_by_label("发起部门").select_option("SCJ")
    page.locator('input[name="quota_value_A"]').fill("5")
    page.locator('input[name="quota_value_B"]').fill("10")
    page.locator('input[name="quota_mode_C"][value="count"]').check()
    page.locator('input[name="quota_value_C"]').fill("4")
    page.locator('input[name="quota_value_D"]').fill("50")
    page.get_by_label("第1行部门").select_option("SCJ")
    page.get_by_label("第1行人数").fill("2")
    page.get_by_label("开始日期").fill("2026-12-01")
    page.get_by_label("结束日期").fill("2026-11-01")
    # The ceremony a day ahead (the commitment must be public 24 h before it).
    page.get_by_label("仪式时间（北京时间）").fill("2026-11-27T10:00")
    page.get_by_label(re.compile("熵来源公告")).fill(
        "2026年11月27日10:00在本局一楼随机抽取室由两名见证人掷骰子，并录入当日体彩排列5开奖号码"
    )
    page.get_by_role("button", name="保存为草稿").click()
    page.get_by_text("检查结束日期早于开始日期").first.wait_for()
    screenshots(page, "batch-form-errors")
    assert page.get_by_label("批次名称").input_value() == "2026年企业公示信息抽查"
    page.get_by_label("结束日期").fill("2026-12-31")
    page.get_by_role("button", name="保存为草稿").click()
    page.wait_for_url(f"{server.url}/staff/batches/{CODE}")

    # Feasibility, then freeze.
    page.get_by_text("可以冻结").wait_for()
    assert "S4" in page.inner_text("main")
    page.get_by_role("button", name="冻结并公示承诺").click()
    page.get_by_text("请先勾选确认").wait_for()  # irreversible: a confirmation first
    page.get_by_label("我确认：冻结后抽取参数和承诺值立即向社会公示，不能修改").check()
    page.get_by_role("button", name="冻结并公示承诺").click()
    page.get_by_text("已冻结：抽取参数与承诺值已公示").wait_for()
    commitment = page.locator("section.commitment code.hash").first.inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", commitment)

    # The ceremony: the commitment in groups of 8; entry opens at the announced time only.
    page.get_by_role("link", name="进入抽取仪式").click()
    groups = page.locator(".big-hash span").all_inner_texts()
    assert "".join(groups) == commitment and all(len(g) == 8 for g in groups)
    assert "熵值录入将于 2026-11-27 10:00（北京时间） 开放" in page.inner_text("main")
    assert page.get_by_label("熵值：每行一条").count() == 0
    server.clock.advance(days=1)  # the ceremony's morning
    page.get_by_role("link", name="刷新本页").click()
    screenshots(page, "ceremony-form")

    # On the projector: presentation mode, full screen at 1920×1080, steps advanced by the
    # planner; witnesses, then the entropy, entered from it.
    projector = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    show = projector.new_page()
    show.goto(f"{server.url}/login")
    show.get_by_label("用户名").fill(PLANNER[0])
    show.get_by_label("密码").fill(PLANNER[1])
    show.get_by_role("button", name="登录").click()
    show.wait_for_url(f"{server.url}/staff")
    show.goto(f"{server.url}/batches/{CODE}/present")
    assert show.locator("header.site-header, nav.site-nav, footer.site-footer").count() == 0
    assert "".join(show.locator(".present-hash span").all_inner_texts()) == commitment
    width = show.evaluate("document.querySelector('.present-stage').getBoundingClientRect().width")
    assert width > 1600  # the whole projector, not the site's column
    screenshots(show, "present-1-commitment")
    show.keyboard.press("ArrowRight")  # a clicker's "next"
    show.wait_for_url(re.compile(r"step=2"))
    show.get_by_label(re.compile("见证人：每行一人")).fill("马丽：人大代表\n王建国：个体工商户代表")
    screenshots(show, "present-2-witnesses")
    show.get_by_role("button", name="确认见证人，下一步").click()
    show.get_by_label(re.compile("当众产生的熵值")).fill(f"{DICE}\n{LOTTERY}")
    show.get_by_label("我确认熵值已当众产生，提交后不可更改").check()
    screenshots(show, "present-3-entropy")
    show.get_by_role("button", name="录入熵值并抽取").click()
    show.wait_for_url(re.compile(r"step=4"))
    seed_shown = "".join(show.locator(".present-hash span").all_inner_texts())
    assert re.fullmatch(r"[0-9a-f]{64}", seed_shown)
    screenshots(show, "present-4-seed")
    show.get_by_role("link", name="下一步 →").click()
    assert show.locator(".present-list li").count() == 23
    screenshots(show, "present-5-drawn")
    show.get_by_role("link", name="下一步 →").click()
    assert show.locator(".present-qr img").count() == 1
    screenshots(show, "present-6-qr")
    show.goto(f"{server.url}/batches/{CODE}/present?step=2")
    assert "马丽" in show.inner_text(".present-stage")  # published with the draw
    projector.close()

    # The ceremony page follows: drawn, with the witnesses. (A day has passed: the planner's
    # earlier session has expired, so sign in again.)
    page.goto(f"{server.url}/login")
    page.get_by_label("用户名").fill(PLANNER[0])
    page.get_by_label("密码").fill(PLANNER[1])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server.url}/staff")
    page.goto(f"{server.url}/batches/{CODE}/ceremony")
    assert "马丽（人大代表）" in page.inner_text("main")
    seed = "".join(
        page.locator(
            "#h-seed ~ .big-hash span, section:has(#h-seed) .big-hash span"
        ).all_inner_texts()
    )
    assert re.fullmatch(r"[0-9a-f]{64}", seed)
    assert LOTTERY in page.inner_text("ol.entropy-lines")
    first_names = page.locator("ol.big-list li").all_inner_texts()
    assert len(first_names) == 10
    screenshots(page, "ceremony-drawn")

    # The draw has committed: its public files are built in the background for the first
    # reader (bundle.json, bundle.zip and the draw notice PDF).
    built: list = []
    for _ in range(300):
        built = sorted(
            p.name.split("-", 1)[1] for p in (server.root / "files" / "artefacts").glob("*/*-*")
        )
        if len(built) >= 3:
            break
        time.sleep(0.1)
    assert built == [f"{CODE}-bundle.json", f"{CODE}-bundle.zip", f"{CODE}-draw.pdf"], built

    # The staff batch page after the draw.
    page.goto(f"{server.url}/staff/batches/{CODE}")
    staff_rows = _rows(page)
    assert len(staff_rows) == 23 and all("组长" in team for _, team in staff_rows)
    screenshots(page, "staff-batch")
    page.goto(f"{server.url}/staff")
    screenshots(page, "staff-dashboard")

    # A citizen sees the same entities and teams, without logging in.
    citizen = chromium.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    public = citizen.new_page()
    public.goto(f"{server.url}/")
    screenshots(public, "home")
    public.get_by_role("link", name=CODE).click()
    public.wait_for_url(f"{server.url}/batches/{CODE}")
    assert seed in public.inner_text("main")
    assert _rows(public) == staff_rows
    screenshots(public, "public-batch")

    # Download the verifier and the bundle from the page's own links, then verify.
    work = tmp_path / "citizen"
    work.mkdir()
    with public.expect_download() as got:
        public.locator("#download ~ ul a", has_text="bundle.zip").click()
    zip_path = work / got.value.suggested_filename
    got.value.save_as(zip_path)
    with public.expect_download() as got:
        public.locator("#download ~ ul a", has_text="verify.py").click()
    assert got.value.suggested_filename == "verify.py"
    zipfile.ZipFile(zip_path).extractall(work)
    got.value.save_as(work / "verify.py")  # the page's verify.py, not the zip's copy
    run = subprocess.run(
        [sys.executable, "-I", "verify.py", CODE],
        capture_output=True,
        text=True,
        cwd=work,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "核验通过" in run.stdout

    # The same record on a phone.
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    small = phone.new_page()
    small.goto(f"{server.url}/batches/{CODE}")
    screenshots(small, "public-batch-phone")
    small.goto(f"{server.url}/verify")
    screenshots(small, "verify-phone")
    assert small.evaluate("document.documentElement.scrollWidth") <= 390 + 1
