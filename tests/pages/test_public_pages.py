"""The public portal: what is published appears, nothing private ever does."""

import html
import json
import re
import subprocess

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.pages.public import task_views
from supervision.draw import sr1
from supervision.planning import freeze, service
from supervision.planning import queries as pq
from supervision.planning.models import Draw, Task
from tests.pages.conftest import (
    DICE,
    ID_NO,
    PHONE,
    PRIVATE_CONFLICT_REASON,
    PRIVATE_RECUSAL_NOTE,
    csrf_of,
    make_batch,
)

PUBLIC_PAGES = ("/", "/items", "/verify", "/plans/CJ-2026")


def public_pages_of(code: str) -> tuple[str, ...]:
    return (*PUBLIC_PAGES, f"/batches/{code}", f"/batches/{code}/ceremony")


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_home_lists_published_plans_and_public_batches(
    browser, drawn_batch, session, clock
) -> None:
    make_batch(session, clock, "CJ-DRAFT")
    page = browser().get("/")
    assert page.status_code == 200
    assert "双随机、一公开" in page.text and "2026年度抽查计划" in page.text
    assert drawn_batch in page.text and "已抽取" in page.text
    assert "CJ-DRAFT" not in page.text
    assert "昌吉市市场监督管理局" in page.text  # the authority in the header


def test_draft_batch_is_404_on_every_public_page(browser, city, session, clock) -> None:
    code = make_batch(session, clock, "CJ-DRAFT")
    anonymous, planner = browser(), browser("planner")
    for client in (anonymous, planner):
        for url in (f"/batches/{code}", f"/batches/{code}/ceremony"):
            r = client.get(url)
            assert r.status_code == 404, url
            assert "页面不存在" in r.text and "text/html" in r.headers["content-type"]
        for url in PUBLIC_PAGES:
            assert code not in client.get(url).text
    assert anonymous.get("/plans/NO-SUCH").status_code == 404


def test_drawn_batch_page_is_the_public_record(browser, drawn_batch, session) -> None:
    page = browser().get(f"/batches/{drawn_batch}")
    assert page.status_code == 200
    text = page.text
    batch = service.get_batch(session, drawn_batch)
    tasks = task_views(session, batch)
    internal = {t.uscc: t for t in pq.drawn_tasks(session, batch, internal=True)}
    for t in tasks:
        assert t.uscc in text and t.entity_name in text
        # Sealed (sr2): the salted entity ticket and the stratum stay internal.
        assert t.ticket is None and internal[t.uscc].ticket[:16] not in text
        for member in t.team:
            assert member["badge_no"] in text and member["name"] in text
    assert text.count("组长") >= sum(1 for t in tasks if t.team)
    draw = session.exec(select(Draw).where(Draw.batch_id == batch.id)).one()
    assert draw.seed in text and DICE in text
    assert "企业公示信息检查" in text  # the item's name, not just its code
    assert "已撤出" in text and "已注销" in text and "因病" in text  # events with reasons
    assert PRIVATE_RECUSAL_NOTE not in text  # a recusal's note is internal
    assert "S1：3 户" in text and "所所交叉" in text  # readable parameters
    assert '"pool_sha256":' in html.unescape(text)  # the canonical parameters JSON
    for link in ("bundle.zip", "bundle.json", "/verify.py"):
        assert link in text
    assert f"python3 verify.py {drawn_batch}" in text


def test_public_pages_never_show_private_data(browser, drawn_batch) -> None:
    anonymous, planner = browser(), browser("planner")
    for client in (anonymous, planner):
        for url in public_pages_of(drawn_batch):
            text = client.get(url).text
            assert PHONE not in text, url
            assert ID_NO not in text, url
            assert PRIVATE_CONFLICT_REASON not in text, url
            # The internal credit-risk class never appears as a class of anything.
            assert not re.search(r"[ABCD]\s*类", text), url
            assert "风险分类：" not in text, url
    text = anonymous.get(f"/batches/{drawn_batch}").text
    # Sealed strata (sr2): no stratum column at all, and the page says why.
    assert not re.findall(r'<td class="stratum">', text)
    assert "密封分层" in text and "sr2" in text


def test_verify_page_works_an_example_from_a_real_draw(browser, drawn_batch, session) -> None:
    text = browser().get("/verify").text
    draw = session.exec(select(Draw)).one()
    assert "先承诺，后随机" in text and "签号" in text and "哈希链" in text
    assert draw.seed in text and drawn_batch in text
    assert 'flag">不一致' not in text and text.count('state-published">一致') >= 3
    assert 'href="/verify.py"' in text
    # The shell lines shown to citizens really compute the seed and the first ticket.
    commands = re.findall(r'<pre class="commands">(printf [^<]*)</pre>', text)
    assert len(commands) == 2
    first = task_views(session, service.get_batch(session, drawn_batch))[0]
    # Sealed (sr2): the selected list follows the public pairing-order ticket H(seed:P:u).
    order = sr1.order_ticket(draw.seed, first.uscc)
    for command, expected in zip(commands, (draw.seed, order), strict=True):
        line = html.unescape(command).split("    #")[0]
        out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, check=True)
        assert out.stdout.split()[0] == expected


def test_verify_page_without_any_draw(browser, city) -> None:
    text = browser().get("/verify").text
    assert "如何核验" in text and "实例" not in text


def test_verifier_download(browser) -> None:
    r = browser().get("/verify.py")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/x-python")
    assert 'filename="verify.py"' in r.headers["content-disposition"]
    compile(r.text, "verify.py", "exec")


def test_items_page_lists_the_published_items(browser, city) -> None:
    text = browser().get("/items").text
    assert "企业公示信息检查" in text and "《食品安全法》" in text and "重点检查事项" in text


def test_ceremony_before_the_draw(browser, frozen_batch, session) -> None:
    anonymous = browser().get(f"/batches/{frozen_batch}/ceremony").text
    commitment = freeze.active_commitment(session, service.get_batch(session, frozen_batch))
    for group in re.findall(".{8}", commitment.commitment):
        assert f"<span>{group}</span>" in anonymous
    assert "等待录入熵值" in anonymous and "现场见证人掷骰子" in anonymous
    assert 'name="entropy"' not in anonymous and "ceremony.js" in anonymous
    reviewer = browser("reviewer").get(f"/batches/{frozen_batch}/ceremony").text
    assert 'name="entropy"' not in reviewer
    planner = browser("planner").get(f"/batches/{frozen_batch}/ceremony").text
    assert 'name="entropy"' in planner and "我确认熵值已当众产生，提交后不可更改" in planner


def test_ceremony_draws_once_with_entropy_kept_verbatim(browser, frozen_batch, session) -> None:
    planner = browser("planner")
    token = csrf_of(planner, f"/batches/{frozen_batch}/ceremony")
    lines = "3 6 1 4 \r\n体彩排列5 2026-12-01: 7 0 3 9 1\r\n\r\n"
    r = planner.post(
        f"/batches/{frozen_batch}/ceremony",
        data={"entropy": lines, "confirm": "yes", "csrf_token": token},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/batches/{frozen_batch}/ceremony"
    draw = session.exec(select(Draw)).one()
    assert service.get_batch(session, frozen_batch).state == "drawn"
    assert json.loads(draw.entropy_json) == ["3 6 1 4 ", "体彩排列5 2026-12-01: 7 0 3 9 1"]
    page = planner.get(f"/batches/{frozen_batch}/ceremony").text
    assert "抽取完成" in page  # the one-time message
    assert draw.seed[:8] in page and "抽中的检查对象" in page
    first = task_views(session, service.get_batch(session, frozen_batch))[0]
    assert first.entity_name in page
    assert 'name="entropy"' not in page  # drawn: no second entry

    again = planner.post(
        f"/batches/{frozen_batch}/ceremony",
        data={"entropy": "1 2 3", "confirm": "yes", "csrf_token": token},
    )
    assert again.status_code == 409 and "只能录入一次" in again.text
    assert count(session, Draw) == 1


def test_ceremony_refusals_change_nothing(browser, frozen_batch, session, clock) -> None:
    planner = browser("planner")
    token = csrf_of(planner, f"/batches/{frozen_batch}/ceremony")
    url = f"/batches/{frozen_batch}/ceremony"
    cases = [
        ({"entropy": DICE}, "请勾选"),
        ({"entropy": f"{DICE}\n\n1 2 3", "confirm": "yes"}, "第2行是空行"),
        ({"entropy": "\n", "confirm": "yes"}, "请至少输入一行熵值"),
        ({"entropy": "\n".join(str(n) for n in range(21)), "confirm": "yes"}, "最多20项"),
        ({"entropy": "e\u0301", "confirm": "yes"}, "NFC"),
    ]
    for data, message in cases:
        r = planner.post(url, data={**data, "csrf_token": token})
        assert r.status_code == 400, data
        assert message in r.text, (message, data)
        assert data["entropy"].split("\n")[0] in r.text  # what was typed is kept
    make_batch(session, clock, "CJ-DRAFT")
    r = planner.post(
        "/batches/CJ-DRAFT/ceremony", data={"entropy": DICE, "confirm": "yes", "csrf_token": token}
    )
    assert r.status_code == 409 and "承诺尚未公示" in r.text
    assert count(session, Draw) == 0 and count(session, Task) == 0


def test_ceremony_entry_needs_a_planner_and_the_csrf_token(browser, frozen_batch, session) -> None:
    url = f"/batches/{frozen_batch}/ceremony"
    data = {"entropy": DICE, "confirm": "yes"}
    r = browser().post(url, data=data)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    reviewer = browser("reviewer")
    r = reviewer.post(url, data={**data, "csrf_token": csrf_of(reviewer)})
    assert r.status_code == 403
    r = browser("planner").post(url, data={**data, "csrf_token": "0" * 64})
    assert r.status_code == 403 and "CSRF" in r.text
    assert count(session, Draw) == 0


def test_plan_page_shows_changes(browser, city, session, clock) -> None:
    from supervision.planning.schemas import PlanChangeCreate

    service.add_plan_change(
        session,
        "CJ-2026",
        PlanChangeCreate(description="增加食品经营检查批次"),
        actor="test",
        clock=clock,
    )
    session.commit()
    text = browser().get("/plans/CJ-2026").text
    assert "增加食品经营检查批次" in text and "2026年11月26日" in text


def test_static_stylesheet_is_served(browser) -> None:
    r = browser().get("/static/site.css")
    assert r.status_code == 200 and "Noto Sans CJK SC" in r.text


def test_client_fixture_unaffected(client: TestClient) -> None:
    assert client.get("/api/v1/items").status_code == 200
