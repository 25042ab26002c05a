"""The portal's manners: long batch pages page and filter, unknown addresses answer in Chinese."""

import re

from sqlalchemy import text

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


def test_announcements_and_the_atom_feed_follow_what_was_published(browser, drawn_batch) -> None:
    import xml.etree.ElementTree as ET

    import feedparser

    visitor = browser()
    page = visitor.get("/announcements")
    assert page.status_code == 200
    html = page.text
    assert "发布2026年度抽查计划" in html and "公示抽取承诺" in html and "完成随机抽取" in html
    # Newest first: the draw before the commitment before the plan.
    assert (
        html.index("完成随机抽取") < html.index("公示抽取承诺") < html.index("发布2026年度抽查计划")
    )
    assert f'href="/batches/{drawn_batch}"' in html
    only = visitor.get("/announcements", params={"kind": "draw"}).text
    assert "完成随机抽取" in only and "公示抽取承诺：" not in only

    # A forged Host is refused outright; a served feed's links come from the configured
    # public address, never from the Host header (here "testserver").
    assert visitor.get("/feed.xml", headers={"Host": "evil.example"}).status_code == 400
    r = visitor.get("/feed.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    assert "testserver" not in r.text
    parsed = feedparser.parse(r.content)
    assert parsed.version == "atom10" and not parsed.bozo, parsed.get("bozo_exception")
    assert [e.title for e in parsed.entries][:1] == [
        e.title for e in parsed.entries if "抽取" in e.title
    ][:1]
    assert all(e.link.startswith("http://127.0.0.1:8000/") for e in parsed.entries)
    assert "evil.example" not in r.text
    # RFC 4287's required elements, checked on the XML itself.
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(r.content)
    for required in ("a:id", "a:title", "a:updated", "a:author/a:name"):
        assert root.find(required, ns) is not None, required
    ids = []
    for entry in root.findall("a:entry", ns):
        for required in ("a:id", "a:title", "a:updated", "a:link[@rel='alternate']"):
            assert entry.find(required, ns) is not None, required
        ids.append(entry.find("a:id", ns).text)
    assert len(ids) == len(set(ids)) >= 3


def test_no_page_loads_anything_from_another_site(browser, drawn_batch) -> None:
    visitor = browser()
    pages = [
        "/",
        "/entities?q=商贸",
        "/announcements",
        "/statistics",
        "/open-data",
        f"/batches/{drawn_batch}",
        f"/batches/{drawn_batch}/verify",
        "/docs",
        "/redoc",
    ]
    for path in pages:
        html = visitor.get(path).text
        assets = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
        assets += re.findall(r"(?:url|src|href)\s*[:=]\s*['\"]([^'\"]+\.(?:js|css|png))['\"]", html)
        assert assets, path
        for asset in assets:
            assert asset.startswith("/") and not asset.startswith("//"), (path, asset)
            assert visitor.get(asset).status_code == 200, (path, asset)
    assert "fonts.googleapis" not in visitor.get("/redoc").text


def test_a_search_stopped_for_time_says_so_on_the_page_the_api_and_the_cli(
    browser, monkeypatch
) -> None:
    from typer.testing import CliRunner

    from supervision.cli import app
    from supervision.registry import search

    def stuck(conn, *_) -> None:  # a statement that runs for seconds, on either database
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_sleep(5)"))
        else:
            conn.execute(
                text(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                    "WHERE i < 100000000) SELECT count(*) FROM n"
                )
            )

    monkeypatch.setattr(search, "TIME_LIMIT_MS", 200)
    monkeypatch.setattr(search, "_trigram", stuck)
    visitor = browser()
    page = visitor.get("/entities", params={"q": "天山乳业"})
    assert page.status_code == 200 and "用时过长，已停止" in page.text
    api = visitor.get("/api/v1/public/entities", params={"q": "天山乳业"})
    assert api.status_code == 200
    assert (api.json()["how"], api.json()["total"], api.json()["hits"]) == ("timeout", 0, [])
    # The next visitor's search is answered as usual.
    monkeypatch.undo()
    assert visitor.get("/api/v1/public/entities", params={"q": "天山乳业"}).json()["how"] != (
        "timeout"
    )
    monkeypatch.setattr(search, "TIME_LIMIT_MS", 200)
    monkeypatch.setattr(search, "_trigram", stuck)
    cli = CliRunner().invoke(app, ["search", "天山乳业"])
    assert cli.exit_code == 1 and "已停止" in cli.output


def test_the_hot_lookups_run_on_the_event_loop_and_a_fragment_search_does_not(
    browser, drawn_batch, session, monkeypatch
) -> None:
    """On a server database the entity page and a search by code run inline (a thread hop
    each made them queue for the interpreter's lock); a fragment's search, which may take up
    to its time limit, goes to the thread pool. On SQLite every read runs inline."""
    from api import deps

    batch = service.get_batch(session, drawn_batch)
    uscc = pq.drawn_tasks(session, batch)[0].uscc
    hops: list[str] = []
    real = deps.run_in_threadpool

    async def counted(fn, *args, **kwargs):
        hops.append(getattr(fn, "__name__", repr(fn)))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(deps, "run_in_threadpool", counted)
    visitor = browser()
    assert visitor.get(f"/entities/{uscc}").status_code == 200
    assert visitor.get("/entities", params={"q": uscc[:10]}).status_code == 200
    assert hops == []
    sqlite = session.get_bind().dialect.name == "sqlite"
    # A name fragment, and a code no entity bears (its name search may be long): off the loop.
    for q in ("商贸", "9Y9Y9Y9Y9Y"):
        hops.clear()
        assert visitor.get("/entities", params={"q": q}).status_code == 200
        assert (hops == []) if sqlite else (hops[0] == "search"), (q, hops)
