"""A business's public record on the portal: found by a fragment of its name or its code, its
published result shown in the national format, nothing unpublished or private."""

import re

from fastapi.testclient import TestClient

from tests.inspection.conftest import approve, record_and_submit

DAY = "2026-09-10"


def _publish(client: TestClient, task: int, headers: dict) -> None:
    r = client.post(f"/api/v1/tasks/{task}/publish", headers=headers)
    assert r.status_code == 200, r.text


def test_a_published_result_is_on_the_entity_page_and_an_unpublished_one_is_not(
    client: TestClient, draw_batch, member, login
) -> None:
    tasks = draw_batch()
    planner = login("planner")
    reviewer = login("reviewer")
    record_and_submit(client, tasks[0], member(tasks[0]), DAY)
    approve(client, tasks[0], reviewer)
    _publish(client, tasks[0], reviewer)
    record_and_submit(client, tasks[1], member(tasks[1]), DAY)  # submitted, never published
    first = client.get(f"/api/v1/tasks/{tasks[0]}", headers=planner).json()
    second = client.get(f"/api/v1/tasks/{tasks[1]}", headers=planner).json()

    public = TestClient(client.app)
    page = public.get(f"/entities/{first['uscc']}")
    assert page.status_code == 200
    html = page.text
    assert first["entity_name"] in html and first["uscc"] in html
    assert "“双随机”抽查检查结果" in html and "CJ-2026-R01" in html
    assert 'href="/batches/CJ-2026-R01"' in html
    assert "不定向" in html and "企业公示信息检查" in html
    assert "13900000000" not in html and "652301198001010011" not in html

    other = public.get(f"/entities/{second['uscc']}").text
    assert "暂无已公示的抽查检查结果" in other

    # Lower-case and surrounding spaces: the same page.
    assert public.get(f"/entities/{first['uscc'].lower()}").status_code == 200


def test_search_finds_by_code_and_by_a_two_character_fragment(
    client: TestClient, draw_batch, login
) -> None:
    draw_batch()
    task = client.get("/api/v1/batches/CJ-2026-R01/tasks").json()[0]
    public = TestClient(client.app, follow_redirects=False)
    r = public.get("/entities", params={"q": task["uscc"]})
    assert r.status_code == 303 and r.headers["location"] == f"/entities/{task['uscc']}"
    number = task["entity_name"].removeprefix("昌吉市测试商贸").split("号")[0]
    r = public.get("/entities", params={"q": f"{number}号"})
    assert r.status_code == 200 and task["entity_name"] in r.text
    assert f'href="/entities/{task["uscc"]}"' in r.text
    r = public.get("/entities", params={"q": "商贸"})
    assert "找到 200 条结果" in r.text and 'rel="next"' in r.text
    r = public.get("/entities", params={"q": "商贸", "page": "10"})
    assert r.status_code == 200 and "第 10 / 10 页" in r.text


def test_unknown_entity_and_hostile_input_get_a_chinese_page(client: TestClient) -> None:
    public = TestClient(client.app)
    r = public.get("/entities/91652301MA0000000X")
    assert r.status_code == 404 and "未找到统一社会信用代码" in r.text and "<html" in r.text
    for q in ["<script>alert(1)</script>", "'\"", "%", "x" * 10_000, "\u202e"]:
        r = public.get("/entities", params={"q": q, "page": "-1"})
        assert r.status_code == 200 and "<script>alert(1)" not in r.text
    r = public.get("/entities/" + "A" * 500)
    assert r.status_code == 404


def test_open_data_files_carry_exactly_the_published_record(
    client: TestClient, draw_batch, member, login
) -> None:
    import csv
    import io

    from supervision.portal.opendata import DATASETS

    tasks = draw_batch()
    reviewer = login("reviewer")
    record_and_submit(client, tasks[0], member(tasks[0]), DAY)
    approve(client, tasks[0], reviewer)
    _publish(client, tasks[0], reviewer)
    record_and_submit(client, tasks[1], member(tasks[1]), DAY)
    planner = login("planner")
    published = client.get(f"/api/v1/tasks/{tasks[0]}", headers=planner).json()["uscc"]
    pending = client.get(f"/api/v1/tasks/{tasks[1]}", headers=planner).json()["uscc"]

    public = TestClient(client.app)
    page = public.get("/open-data")
    assert (
        page.status_code == 200 and "抽查检查结果" in page.text and "统一社会信用代码" in page.text
    )
    assert 'href="/open-data/results.csv?year=2026"' in page.text

    r = public.get("/open-data/results.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == DATASETS["results"].fields
    body = rows[1:]
    assert {row[6] for row in body} == {published} and len(body) == 2  # two items
    assert pending not in r.text and "13900000000" not in r.text
    assert all(row[4] == "不定向" and row[13] for row in body)

    data = public.get("/open-data/results.json", params={"year": "2026"}).json()
    assert [d["uscc"] for d in data] == [published, published]
    assert public.get("/open-data/results.json", params={"year": "2019"}).json() == []

    batches = list(
        csv.DictReader(
            io.StringIO(public.get("/open-data/batches.csv").content.decode("utf-8-sig"))
        )
    )
    assert [b["code"] for b in batches] == ["CJ-2026-R01"] and len(batches[0]["seed"]) == 64
    entries = public.get("/open-data/list-entries.csv").content.decode("utf-8-sig")
    assert entries.splitlines() == [",".join(DATASETS["list-entries"].fields)]

    assert public.get("/open-data/nothing.csv").status_code == 404
    assert public.get("/open-data/results.xlsx").status_code == 404
    assert public.get("/open-data/results.csv", params={"year": "20x6"}).status_code == 400
    assert public.get("/open-data/../etc/passwd").status_code == 404


def test_statistics_count_published_results_only_with_charts_and_tables(
    client: TestClient, draw_batch, member, login
) -> None:
    tasks = draw_batch()
    reviewer = login("reviewer")
    public = TestClient(client.app)
    empty = public.get("/statistics")
    assert empty.status_code == 200 and "尚无已公示的检查结果" in empty.text
    for task in tasks[:2]:
        record_and_submit(client, task, member(task), DAY)
        approve(client, task, reviewer)
        _publish(client, task, reviewer)
    record_and_submit(client, tasks[2], member(tasks[2]), DAY)  # not published: not counted
    page = public.get("/statistics")
    assert page.status_code == 200
    html = page.text
    # Every chart drawn, each its own SVG file from this site (the page allows no inline
    # style, and a chart carries its own).
    charts = re.findall(r'<img src="(/statistics/charts/[a-z_]+\.svg\?v=[0-9a-f]{12})"', html)
    assert len(charts) == 6
    for src in charts:
        svg = public.get(src)
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
        assert "<svg" in svg.text and "<script" not in svg.text
        assert "default-src 'none'" in svg.headers["content-security-policy"]
    assert public.get("/statistics/charts/nothing.svg").status_code == 404
    assert "style-src 'self';" in page.headers["content-security-policy"]
    assert '<div class="value">2</div>' in html  # two published records
    assert '<td data-label="行业门类">F</td>' in html  # the section of F51 (no name loaded)
    assert "2026年" in html and "2026-" in html
    assert "<script" not in html
    again = public.get("/statistics").text
    assert again == html  # the same figures give the same drawing (cached, deterministic)


def test_the_json_api_gives_the_same_record_and_search(
    client: TestClient, draw_batch, member, login
) -> None:
    tasks = draw_batch()
    reviewer = login("reviewer")
    record_and_submit(client, tasks[0], member(tasks[0]), DAY)
    approve(client, tasks[0], reviewer)
    _publish(client, tasks[0], reviewer)
    uscc = client.get(f"/api/v1/tasks/{tasks[0]}", headers=login("planner")).json()["uscc"]
    public = TestClient(client.app)
    record = public.get(f"/api/v1/public/entities/{uscc}").json()
    assert record["uscc"] == uscc and len(record["results"]) == 1
    assert record["results"][0]["batch_code"] == "CJ-2026-R01"
    assert {f["label"] for f in record["facts"]} >= {"名称", "统一社会信用代码", "登记状态"}
    text = str(record)
    assert "13900000000" not in text and "652301198001010011" not in text and "risk" not in text
    found = public.get("/api/v1/public/entities", params={"q": uscc}).json()
    assert found["how"] == "code" and [h["uscc"] for h in found["hits"]] == [uscc]
    fragment = public.get("/api/v1/public/entities", params={"q": "商贸", "per_page": 5}).json()
    assert fragment["total"] == 200 and len(fragment["hits"]) == 5
    assert public.get("/api/v1/public/entities/NOPE").status_code == 404
    assert (
        public.get("/api/v1/public/entities", params={"q": "x", "per_page": 1000}).status_code
        == 422
    )
    kinds = [a["kind"] for a in public.get("/api/v1/public/announcements").json()]
    assert "results" in kinds and "draw" in kinds
