"""Uploading registry files through the API: report on success, nothing written on failure."""

from sqlmodel import Session, func, select

from supervision.registry.models import Entity, Inspector
from tests.factories import small_city

HEADER = "统一社会信用代码,企业名称,主体类型,法定代表人,住所,行政区划代码,行业代码,登记机关,管辖单位代码,成立日期\r\n"


def row(uscc: str, name: str = "昌吉市新华书店") -> str:
    return (
        f"{uscc},{name},企业,王五,昌吉市,652301,F52,昌吉市市场监督管理局,652301-01,2019-03-01\r\n"
    )


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def upload(client, headers, text: str, encoding: str = "utf-8-sig", kind: str = "entities"):
    files = {"file": ("企业名录.csv", text.encode(encoding), "text/csv")}
    return client.post(f"/api/v1/import/{kind}", files=files, headers=headers)


def test_upload_gb18030_file(client, login, session, clock) -> None:
    small_city(session, clock, entities=5, inspectors=2)
    session.commit()
    before = count(session, Entity)
    r = upload(client, login("planner"), HEADER + row("91652301MA77XY121U"), "gb18030")
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 1 and r.json()["encoding"].lower().startswith("gb")
    assert count(session, Entity) == before + 1


def test_one_bad_row_writes_nothing_and_names_it(client, login, session, clock) -> None:
    small_city(session, clock, entities=5, inspectors=2)
    session.commit()
    before = count(session, Entity)
    text = HEADER + row("91652301MA77XY121U") + row("91652301MA77XY12") + row("91652301MA77XY13XK")
    r = upload(client, login("planner"), text)
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert "未写入任何数据" in detail["zh"]
    errors = detail["report"]["errors"]
    assert errors[0]["line"] == 3 and errors[0]["column"] == "统一社会信用代码"
    assert count(session, Entity) == before


def test_upload_limits_and_roles(client, login, app, session, clock) -> None:
    small_city(session, clock, entities=5, inspectors=2)
    session.commit()
    assert upload(client, login("reviewer"), HEADER).status_code == 403
    assert client.post("/api/v1/import/entities", headers=login("planner")).status_code == 422
    entities = count(session, Entity)
    app.state.settings.upload_max_bytes = 100
    r = upload(client, login("planner"), HEADER + row("91652301MA77XY121U") * 3)
    # Refused while the body streams, before the file is stored or parsed.
    assert r.status_code == 413 and "大小上限" in r.json()["detail"]["zh"]
    assert count(session, Entity) == entities  # the refused entities upload wrote no entity
    assert count(session, Inspector) == 2


def test_the_api_takes_a_default_unit_and_a_snapshot(
    client, login, session, clock, tmp_path, monkeypatch
) -> None:
    """An export without a unit column: the API form's default_unit fills it; snapshot_of
    lists the registered entities of the unit the file does not carry (none deleted)."""
    usccs = small_city(session, clock, entities=20, inspectors=2)
    session.commit()
    in_unit = set(
        session.exec(select(Entity.uscc).where(Entity.supervising_unit == "652301-02")).all()
    )
    header = HEADER.replace(",管辖单位代码", "")
    body = "91652301MA77XY121U,昌吉市新华书店,企业,王五,昌吉市某处,652301,F52,昌吉市市场监督管理局,2019-03-01\r\n"
    files = {"file": ("无单位.csv", (header + body).encode("gb18030"), "text/csv")}
    r = client.post(
        "/api/v1/import/entities",
        files=files,
        data={"default_unit": "652301-02", "snapshot_of": "652301-02"},
        headers=login("planner"),
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["derived"] == {"supervising_unit": {"default": 1}}
    assert report["snapshot_of"] == "652301-02" and report["absent_total"] == len(in_unit)
    assert {a["uscc"] for a in report["absent"]} == in_unit
    assert count(session, Entity) == len(usccs) + 1
    files = {"file": ("无单位.csv", (header + body).encode("gb18030"), "text/csv")}
    r = client.post(
        "/api/v1/import/entities",
        files=files,
        data={"snapshot_of": "火星"},
        headers=login("planner"),
    )
    assert r.status_code == 400 and "全量快照的范围" in r.json()["detail"]["zh"]


def test_an_import_is_searchable_at_once_and_a_refused_one_leaves_no_trace(
    client, login, session, clock
) -> None:
    small_city(session, clock, entities=5, inspectors=2)
    session.commit()
    planner = login("planner")
    r = upload(client, planner, HEADER + row("91652301MA77XY121U", "昌吉市葫芦娃玩具店"))
    assert r.status_code == 200, r.text
    found = client.get("/api/v1/public/entities", params={"q": "葫芦娃"}).json()
    assert [h["uscc"] for h in found["hits"]] == ["91652301MA77XY121U"]
    bad = HEADER + row("91652301MA77XY13XK", "昌吉市金刚葫芦店") + row("91652301MA77XY12")
    assert upload(client, planner, bad).status_code == 400
    assert client.get("/api/v1/public/entities", params={"q": "金刚葫芦"}).json()["total"] == 0
    # A re-import that renames the entity moves it in the index.
    r = upload(client, planner, HEADER + row("91652301MA77XY121U", "昌吉市七彩葫芦玩具店"))
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/public/entities", params={"q": "葫芦娃"}).json()["total"] == 0
    assert client.get("/api/v1/public/entities", params={"q": "七彩葫芦"}).json()["total"] == 1
