"""The portal's manners: long batch pages page and filter, unknown addresses answer in Chinese."""

import re

from api.pages import public
from supervision.planning import queries as pq
from supervision.planning import service


def _rows(html: str) -> list[str]:
    return re.findall(
        r'<a href="/entities/([0-9A-Z]{18})">', html.split('id="drawn"')[1].split("</table>")[0]
    )


def test_a_long_batch_page_pages_and_filters(browser, drawn_batch, session, monkeypatch) -> None:
    monkeypatch.setattr(public, "TASKS_PER_PAGE", 5)
    visitor = browser()
    batch = service.get_batch(session, drawn_batch)
    every = [t.uscc for t in pq.drawn_tasks(session, batch)]
    assert len(every) > 10
    first = visitor.get(f"/batches/{drawn_batch}")
    assert first.status_code == 200
    assert _rows(first.text) == every[:5]
    assert f"第 1 / {-(-len(every) // 5)} 页，共 {len(every)} 条" in first.text
    second = visitor.get(f"/batches/{drawn_batch}", params={"page": "2"})
    assert _rows(second.text) == every[5:10]
    assert 'rel="prev"' in second.text

    one = visitor.get(f"/batches/{drawn_batch}", params={"q": every[7]})
    assert _rows(one.text) == [every[7]] and "符合条件的 1 户" in one.text

    units = re.findall(r'<option value="([^"]+)"', first.text)
    assert units
    by_unit = visitor.get(f"/batches/{drawn_batch}", params={"unit": units[0]})
    shown = _rows(by_unit.text)
    assert shown and set(shown) <= set(every)

    none = visitor.get(f"/batches/{drawn_batch}", params={"q": "没有这样的企业"})
    assert "没有符合条件的检查对象" in none.text
    for bad in ({"page": "-3"}, {"page": "x"}, {"page": "999999999"}, {"q": "%_\\"}, {"unit": "'"}):
        assert visitor.get(f"/batches/{drawn_batch}", params=bad).status_code == 200


def test_unknown_addresses_get_a_chinese_page_and_the_api_keeps_json(browser) -> None:
    visitor = browser()
    page = visitor.get("/no/such/page")
    assert page.status_code == 404 and 'lang="zh-CN"' in page.text and "页面不存在" in page.text
    api = visitor.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
    wrong = visitor.post("/entities")
    assert wrong.status_code == 405 and "不支持" in wrong.text
