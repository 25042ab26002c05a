"""Staff pages: login, roles, CSRF, the batch form's validation, and the batch's life cycle."""

import csv
import io
import re

import pytest
from sqlmodel import Session, func, select

from api.deps import TOKEN_COOKIE
from supervision.accounts.models import ApiToken
from supervision.audit.models import AuditEntry
from supervision.errors import Conflict
from supervision.planning import drawing, freeze, service
from supervision.planning.models import Batch, Commitment, DrawEvent, Plan
from supervision.registry.models import Inspector
from tests.conftest import post_login
from tests.factories import IMMEDIATE
from tests.pages.conftest import csrf_of

STAFF_URLS = (
    "/staff",
    "/staff/entities",
    "/staff/inspectors",
    "/staff/batches/new",
    "/staff/plans/new",
    "/staff/import",
)


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def batch_form(token: str, **over) -> dict:
    """The batch form as a browser submits it (three team rows, all quota rows)."""
    data = {
        "csrf_token": token,
        "plan_code": "CJ-2026",
        "code": "CJ-2026-W01",
        "name": "2026年企业公示信息抽查（网页）",
        "item_codes": ["SCJ-GS-001"],
        "initiating_department": "SCJ",
        "quota_mode_A": "percent",
        "quota_value_A": "5",
        "quota_mode_B": "percent",
        "quota_value_B": "10",
        "quota_mode_C": "count",
        "quota_value_C": "4",
        "quota_mode_D": "percent",
        "quota_value_D": "50",
        "slot_group": ["SCJ", "", ""],
        "slot_count": ["2", "", ""],
        "slot_qualification": ["", "", ""],
        "cross_unit": "yes",
        "max_load": "",
        "window_start": "2026-12-01",
        "window_end": "2026-12-31",
        "entropy_plan": "2026-11-30 10:00 本局大厅见证人掷骰子",
        "ceremony_at": "2026-11-26T10:00",
        "low_risk_once_per_year": "yes",
    }
    data.update(over)
    return data


# ---- login, roles, CSRF ----------------------------------------------------------------------


def test_anonymous_is_sent_to_login(browser, city) -> None:
    anonymous = browser()
    for url in (*STAFF_URLS, "/staff/batches/ANY", f"/staff/entities/{city[0]}"):
        r = anonymous.get(url)
        assert r.status_code == 303, url
        assert r.headers["location"].startswith("/login?next=%2Fstaff"), url
    r = anonymous.get("/staff/entities?q=abc")
    assert r.headers["location"] == "/login?next=%2Fstaff%2Fentities%3Fq%3Dabc"
    assert "工作人员登录" in anonymous.get("/login").text


def test_login_sets_an_http_only_cookie_and_wrong_password_is_401(browser, session, clock) -> None:
    from supervision.accounts.service import UserCreate, create_user

    create_user(
        session,
        UserCreate(username="wang", display_name="王计划", password="pass-word-1", role="planner"),
        actor="test",
        clock=clock,
    )
    session.commit()
    client = browser()
    r = post_login(client, {"username": "wang", "password": "wrong-pass"})
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert 'value="wang"' in r.text  # the username is kept
    r = post_login(client, {"username": "wang", "password": "pass-word-1", "next": "/staff/import"})
    assert r.status_code == 303 and r.headers["location"] == "/staff/import"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    page = client.get("/staff")
    assert page.status_code == 200 and "王计划" in page.text and "计划管理员" in page.text
    # The JSON API accepts the same cookie.
    assert client.get("/api/v1/auth/me").json()["username"] == "wang"
    # Never an open redirect.
    r = post_login(
        client, {"username": "wang", "password": "pass-word-1", "next": "//evil.example"}
    )
    assert r.status_code == 303, (r.status_code, re.findall(r"notice error[^>]*>(.*?)<", r.text))
    assert r.headers["location"] == "/staff"


def test_logout_revokes_the_token(browser, session) -> None:
    planner = browser("planner")
    token = csrf_of(planner)
    assert planner.post("/logout", data={"csrf_token": "bad"}).status_code == 403
    r = planner.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert session.exec(select(ApiToken)).all()[-1].revoked
    assert planner.get("/staff").status_code == 303


def test_roles_follow_the_api_rules(browser, city, frozen_batch) -> None:
    inspector = browser("inspector", inspector_badge="65230100000")
    r = inspector.get("/staff/batches/new")
    assert r.status_code == 403 and "无权" in r.text and "text/html" in r.headers["content-type"]
    assert inspector.get("/staff/import").status_code == 403
    assert inspector.get(f"/staff/batches/{frozen_batch}").status_code == 403
    assert inspector.get("/staff").status_code == 200
    assert inspector.get("/staff/entities").status_code == 200
    reviewer = browser("reviewer")
    page = reviewer.get(f"/staff/batches/{frozen_batch}")
    assert page.status_code == 200 and "撤回承诺" not in page.text
    r = reviewer.post(
        f"/staff/batches/{frozen_batch}/withdraw-commitment",
        data={"csrf_token": csrf_of(reviewer), "reason": "评审人员不应能撤回"},
    )
    assert r.status_code == 403
    liaison = browser("liaison")
    assert liaison.get("/staff").status_code == 403


def test_csrf_token_is_required(browser, session) -> None:
    planner = browser("planner")
    data = {
        "code": "CJ-2027",
        "year": "2027",
        "name": "2027年度计划",
        "authority": "昌吉市市场监督管理局",
    }
    r = planner.post("/staff/plans/new", data=data)
    assert r.status_code == 403 and "CSRF" in r.text
    r = planner.post("/staff/plans/new", data={**data, "csrf_token": "f" * 64})
    assert r.status_code == 403
    assert count(session, Plan) == 0
    # Another user's token does not fit this session either.
    other = csrf_of(browser("planner"))
    assert planner.post("/staff/plans/new", data={**data, "csrf_token": other}).status_code == 403
    r = planner.post("/staff/plans/new", data={**data, "csrf_token": csrf_of(planner)})
    assert r.status_code == 303 and r.headers["location"] == "/staff/plans/CJ-2027"
    assert count(session, Plan) == 1


# ---- plans ---------------------------------------------------------------------------------


def test_plan_create_publish_and_change(browser, session) -> None:
    planner = browser("planner")
    token = csrf_of(planner, "/staff/plans/new")
    r = planner.post(
        "/staff/plans/new",
        data={
            "csrf_token": token,
            "code": "bad code",
            "year": "1999",
            "name": "",
            "authority": "x",
        },
    )
    assert r.status_code == 400
    assert "计划编号只能包含字母" in r.text and "年度不能小于2015" in r.text
    assert "请填写计划名称" in r.text and count(session, Plan) == 0
    r = planner.post(
        "/staff/plans/new",
        data={
            "csrf_token": token,
            "code": "CJ-2027",
            "year": "2027",
            "name": "2027年度计划",
            "authority": "昌吉市市场监督管理局",
        },
    )
    assert r.status_code == 303
    assert "CJ-2027" not in browser().get("/").text  # a draft plan is not public
    r = planner.post("/staff/plans/CJ-2027/publish", data={"csrf_token": token})
    assert r.status_code == 400 and "请先勾选确认" in r.text  # irreversible: confirm first
    assert "CJ-2027" not in browser().get("/").text
    confirmed = {"csrf_token": token, "confirm": "yes"}
    r = planner.post("/staff/plans/CJ-2027/publish", data=confirmed)
    assert r.status_code == 303
    assert "年度计划已公示" in planner.get("/staff/plans/CJ-2027").text
    r = planner.post("/staff/plans/CJ-2027/publish", data=confirmed)
    assert r.status_code == 409 and "该计划已公示" in r.text
    r = planner.post(
        "/staff/plans/CJ-2027/changes", data={"csrf_token": token, "description": "增加一批次"}
    )
    assert r.status_code == 303
    assert "增加一批次" in browser().get("/plans/CJ-2027").text


# ---- the batch form --------------------------------------------------------------------------


def test_batch_form_validation_in_chinese_creates_nothing(browser, city, session) -> None:
    planner = browser("planner")
    token = csrf_of(planner, "/staff/batches/new")
    cases = [
        ({"quota_value_A": "150"}, "比例须在0–100之间"),
        ({"quota_value_B": "abc"}, "比例须为十进制百分数"),
        ({"quota_mode_C": "count", "quota_value_C": "4.5"}, "C类的抽取数量须为整数"),
        ({"window_end": "2026-11-01"}, "检查结束日期早于开始日期"),
        ({"window_start": ""}, "请填写检查开始日期"),
        ({"slot_group": ["", "", ""], "slot_count": ["2", "", ""]}, "请至少设置一行检查组名额"),
        ({"slot_count": ["0", "", ""]}, "检查组第1行的人数不能小于1"),
        ({"item_codes": []}, "请至少选择一个抽查事项"),
        ({"code": "含 空格"}, "批次编号只能包含字母"),
        ({"plan_code": ""}, "请选择所属年度计划"),
        ({"initiating_department": "NOPE"}, "部门“NOPE”不存在"),
        ({"entropy_plan": "ab"}, "熵来源公告"),
        ({"ceremony_at": ""}, "请填写抽取仪式时间"),
        ({"ceremony_at": "明天上午"}, "抽取仪式时间"),
        ({"entropy_source": "beacon"}, "信标链“”未配置"),
        ({"freeze_at": "2026-11-27T10:00"}, "定时冻结须早于抽取仪式"),
    ]
    for over, message in cases:
        r = planner.post("/staff/batches/new", data=batch_form(token, **over))
        assert r.status_code == 400, over
        assert message in r.text, (message, over)
        assert "未保存，请修改以下内容" in r.text
        assert 'value="2026年企业公示信息抽查（网页）"' in r.text  # entered values are kept
    assert count(session, Batch) == 0


def test_batch_from_form_to_freeze_and_withdrawal(browser, city, session) -> None:
    planner = browser("planner")
    token = csrf_of(planner, "/staff/batches/new")
    form = batch_form(token, slot_group=["SCJ", "", ""], slot_count=["2", "", ""])
    r = planner.post("/staff/batches/new", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/staff/batches/CJ-2026-W01"
    page = planner.get("/staff/batches/CJ-2026-W01").text
    assert "已新建批次" in page and "可以冻结" in page
    strata = re.findall(r"<tr><td>(S\d)</td><td>([ABCD]) 类</td>", page)
    assert strata == [("S1", "A"), ("S2", "B"), ("S3", "C"), ("S4", "D")]
    assert "CJ-2026-W01" not in browser().get("/").text  # a draft is not public

    # Edit the draft through the same form.
    edit = planner.get("/staff/batches/CJ-2026-W01/edit").text
    assert 'value="5"' in edit and "CJ-2026-W01" in edit
    r = planner.post("/staff/batches/CJ-2026-W01/edit", data=batch_form(token, quota_value_A="6"))
    assert r.status_code == 303

    # Irreversible: the confirmation box must be ticked.
    r = planner.post("/staff/batches/CJ-2026-W01/freeze", data={"csrf_token": token})
    assert r.status_code == 400 and "请先勾选确认" in r.text
    assert service.get_batch(session, "CJ-2026-W01").state == "draft"
    r = planner.post(
        "/staff/batches/CJ-2026-W01/freeze", data={"csrf_token": token, "confirm": "yes"}
    )
    assert r.status_code == 303
    assert service.get_batch(session, "CJ-2026-W01").state == "frozen"
    page = planner.get("/staff/batches/CJ-2026-W01").text
    assert "已冻结" in page and "进入抽取仪式" in page
    r = planner.post(
        "/staff/batches/CJ-2026-W01/freeze", data={"csrf_token": token, "confirm": "yes"}
    )
    assert r.status_code == 409 and "只有草稿可以冻结" in r.text

    r = planner.post(
        "/staff/batches/CJ-2026-W01/withdraw-commitment", data={"csrf_token": token, "reason": ""}
    )
    assert r.status_code == 400 and "请填写理由" in r.text
    assert service.get_batch(session, "CJ-2026-W01").state == "frozen"
    r = planner.post(
        "/staff/batches/CJ-2026-W01/withdraw-commitment",
        data={"csrf_token": token, "reason": "抽查范围有误，重新公示"},
    )
    assert r.status_code == 400 and "请先勾选确认" in r.text
    assert service.get_batch(session, "CJ-2026-W01").state == "frozen"
    r = planner.post(
        "/staff/batches/CJ-2026-W01/withdraw-commitment",
        data={"csrf_token": token, "reason": "抽查范围有误，重新公示", "confirm": "yes"},
    )
    assert r.status_code == 303
    assert service.get_batch(session, "CJ-2026-W01").state == "draft"
    public = browser().get("/batches/CJ-2026-W01").text  # the withdrawal stays on record
    assert "抽查范围有误，重新公示" in public and "<del" in public
    ceremony = browser().get("/batches/CJ-2026-W01/ceremony")
    assert ceremony.status_code == 200 and "承诺未生效，不能抽取" in ceremony.text


def test_freeze_refused_when_infeasible(browser, city, session) -> None:
    planner = browser("planner")
    token = csrf_of(planner, "/staff/batches/new")
    form = batch_form(
        token,
        slot_group=["SCJ", "WJW", ""],
        slot_count=["2", "1", ""],
        slot_qualification=["", "food", ""],
    )
    assert planner.post("/staff/batches/new", data=form).status_code == 303
    page = planner.get("/staff/batches/CJ-2026-W01").text
    assert "不能冻结" in page and "无法组队" in page and 'class="problems"' in page
    r = planner.post(
        "/staff/batches/CJ-2026-W01/freeze", data={"csrf_token": token, "confirm": "yes"}
    )
    assert r.status_code == 400 and "可行性检查未通过" in r.text
    assert count(session, Commitment) == 0


def test_recusal_and_withdrawal_from_the_staff_page(browser, city, session, clock, app) -> None:
    from tests.pages.conftest import DICE, make_batch

    code = make_batch(session, clock)
    storage = app.state.settings.storage_dir
    freeze.freeze_batch(session, code, actor="p", clock=clock, storage=storage, rules=IMMEDIATE)
    drawing.enter_entropy(
        session, code, [DICE], actor="p", clock=clock, storage=storage, rules=IMMEDIATE
    )
    session.commit()
    planner = browser("planner")
    page = planner.get(f"/staff/batches/{code}").text
    token = csrf_of(planner, f"/staff/batches/{code}")
    uscc = re.search(r"/tasks/([0-9A-Z]{18})/recuse", page).group(1)
    badge = re.search(r'name="inspector" required>\s*<option value="(\d+)"', page).group(1)
    url = f"/staff/batches/{code}/tasks/{uscc}"
    r = planner.post(f"{url}/recuse", data={"csrf_token": token, "inspector": badge, "reason": ""})
    assert r.status_code == 400 and count(session, DrawEvent) == 0
    r = planner.post(
        f"{url}/recuse", data={"csrf_token": token, "inspector": badge, "reason": "近亲属关系"}
    )
    assert r.status_code == 400 and count(session, DrawEvent) == 0
    r = planner.post(
        f"{url}/recuse",
        data={"csrf_token": token, "inspector": badge, "reason": "回避", "note": "近亲属关系"},
    )
    assert r.status_code == 303 and count(session, DrawEvent) == 1
    r = planner.post(f"{url}/withdraw", data={"csrf_token": token, "reason": "已注销"})
    assert r.status_code == 303 and count(session, DrawEvent) == 2
    r = planner.post(f"{url}/withdraw", data={"csrf_token": token, "reason": "已注销"})
    assert r.status_code == 400 and "不符合抽取协议" in r.text and count(session, DrawEvent) == 2
    public = browser().get(f"/batches/{code}").text
    assert "回避" in public and "由备选对象" in public
    assert "近亲属关系" not in public  # the note stays internal
    staff = planner.get(f"/staff/batches/{code}").text
    assert "近亲属关系" in staff and "已撤出" in staff and "执法人员工作量" in staff


def test_unassigned_entities_are_flagged(browser, city, session, clock, app) -> None:
    from tests.pages.conftest import DICE, make_batch

    code = make_batch(session, clock, max_load=1)
    storage = app.state.settings.storage_dir
    planner = browser("planner")
    before = planner.get(f"/staff/batches/{code}").text
    assert "可以冻结，但" in before and "户抽中后将无法组成完整检查组" in before
    assert "我知悉约" in before  # the acknowledgement box is offered
    with pytest.raises(Conflict, match="须确认知悉"):
        freeze.freeze_batch(session, code, actor="p", clock=clock, storage=storage, rules=IMMEDIATE)
    freeze.freeze_batch(
        session,
        code,
        actor="p",
        clock=clock,
        storage=storage,
        acknowledge_unassigned=True,
        rules=IMMEDIATE,
    )
    row = session.exec(
        select(AuditEntry).where(AuditEntry.action == "planning.batch.freeze")
    ).all()[-1]
    assert (
        '"acknowledged_unassigned":' in row.payload
        and '"acknowledged_unassigned":0' not in row.payload
    )
    drawing.enter_entropy(
        session, code, [DICE], actor="p", clock=clock, storage=storage, rules=IMMEDIATE
    )
    session.commit()
    page = planner.get(f"/staff/batches/{code}").text
    assert "户未能组队" in page and "每人上限1户" in page
    public = browser().get(f"/batches/{code}").text
    assert public.count('badge flag">未能组队') >= 17


# ---- registries --------------------------------------------------------------------------------


def test_entities_search_filter_and_detail(browser, city) -> None:
    reviewer = browser("reviewer")
    page = reviewer.get("/staff/entities?risk=D").text
    assert "共 20 条" in page and page.count("<td>D</td>") == 20
    page = reviewer.get("/staff/entities?unit=652301-01&page=2").text
    assert "第 1 / 1 页，共 50 条" in page  # past the end: the last page
    page = reviewer.get(f"/staff/entities?q={city[5]}").text
    assert "共 1 条" in page
    detail = reviewer.get(f"/staff/entities/{city[5]}").text
    # Per the disclosure table: a reviewer sees the phone, only a planner the identity number.
    assert "13900000000" in detail and "652301198001010011" not in detail
    planner_view = browser("planner").get(f"/staff/entities/{city[5]}").text
    assert "13900000000" in planner_view and "652301198001010011" in planner_view
    assert "没有年度报告记录" in detail
    assert reviewer.get("/staff/entities/91350100M000100Y43").status_code == 404
    assert reviewer.get("/staff/entities?page=abc").status_code == 200


def test_inspectors_list_and_filter(browser, city) -> None:
    page = browser("planner").get("/staff/inspectors?qualification=food").text
    assert "共 6 条" in page and "检查员1" in page and "检查员2<" not in page


# ---- import ------------------------------------------------------------------------------------


def _inspectors_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["执法证号", "姓名", "部门代码", "单位代码"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_import_reports_success_failure_and_size(browser, city, session, app) -> None:
    planner = browser("planner")
    token = csrf_of(planner, "/staff/import")
    before = count(session, Inspector)
    good = _inspectors_csv([["65230199001", "新检查员甲", "SCJ", "652301-01"]])
    r = planner.post(
        "/staff/import",
        data={"csrf_token": token, "kind": "inspectors"},
        files={"file": ("inspectors.csv", good, "text/csv")},
    )
    assert r.status_code == 200 and "导入成功" in r.text
    assert count(session, Inspector) == before + 1

    bad = _inspectors_csv(
        [
            ["65230199002", "新检查员乙", "SCJ", "652301-01"],
            ["65230199003", "新检查员丙", "NOPE", "X"],
        ]
    )
    r = planner.post(
        "/staff/import",
        data={"csrf_token": token, "kind": "inspectors"},
        files={"file": ("bad.csv", bad, "text/csv")},
    )
    assert r.status_code == 400 and "未写入任何数据" in r.text and "NOPE" in r.text
    assert count(session, Inspector) == before + 1

    r = planner.post("/staff/import", data={"csrf_token": token, "kind": "inspectors"})
    assert r.status_code == 400 and "请选择要上传" in r.text

    app.state.settings.upload_max_bytes = 10
    r = planner.post(
        "/staff/import",
        data={"csrf_token": token, "kind": "inspectors"},
        files={"file": ("inspectors.csv", good, "text/csv")},
    )
    assert r.status_code == 413 and "超过大小上限" in r.text


def test_a_batch_becomes_a_quarterly_template_from_its_page(browser, city, session) -> None:
    planner = browser("planner")
    token = csrf_of(planner, "/staff/batches/new")
    assert planner.post("/staff/batches/new", data=batch_form(token)).status_code == 303
    page = planner.get("/staff/batches/CJ-2026-W01").text
    assert "设为定期批次模板" in page
    token = csrf_of(planner, "/staff/batches/CJ-2026-W01")
    form = {
        "csrf_token": token,
        "code_prefix": "含 空格",
        "name": "季度抽查",
        "cadence": "quarterly",
        "ceremony_day": "14",
        "ceremony_time": "10:00",
    }
    bad = planner.post("/staff/batches/CJ-2026-W01/template", data=form)
    assert bad.status_code == 400 and "模板设置有误：编号前缀" in bad.text
    form["code_prefix"] = "CJ-Q-"
    r = planner.post("/staff/batches/CJ-2026-W01/template", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/staff/plans/CJ-2026"
    plan = planner.get("/staff/plans/CJ-2026").text
    assert "定期批次模板" in plan and "CJ-Q-" in plan and "每季度，每期第 14 天后 10:00" in plan
