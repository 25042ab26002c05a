"""The clerk's side of the import page: an export without a unit column loaded with a
default unit, the full error report of a bad file, templates, tax filings, snapshots and the
import history."""

import csv
import io

import openpyxl
from sqlmodel import Session, select

from supervision.registry.models import Entity, TaxFiling
from tests.pages.conftest import csrf_of
from tests.uscc_reference import uscc

HEADER = [
    "统一社会信用代码",
    "企业名称",
    "类型",
    "法定代表人",
    "住所",
    "成立日期",
    "登记机关",
    "登记状态",
    "行政区划",
    "行业代码",
]


def _export(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["市场主体登记信息导出（截至2026-11-25）"])
    w.writerow(HEADER)
    w.writerows(rows)
    return out.getvalue().encode("gb18030")


def _row(n: int, address: str, **over: str) -> list[str]:
    row = {
        "统一社会信用代码": uscc("652301", f"MB{n:06d}"),
        "企业名称": f"昌吉市网页导入{n}号有限公司",
        "类型": "有限责任公司（自然人投资或控股）",
        "法定代表人": "王五",
        "住所": address,
        "成立日期": "2020/5/6",
        "登记机关": "昌吉市市场监督管理局",
        "登记状态": "存续",
        "行政区划": "652301",
        "行业代码": "F5211",
        **over,
    }
    return list(row.values())


def _upload(client, token: str, data: bytes, **form: str):
    return client.post(
        "/staff/import",
        data={"csrf_token": token, "kind": "entities", **form},
        files={"file": ("登记导出.csv", data, "text/csv")},
    )


def test_an_export_without_units_loads_with_a_default(browser, city, session: Session) -> None:
    planner = browser("planner")
    token = csrf_of(planner, "/staff/import")
    page = planner.get("/staff/import").text
    assert "住所所在行政区划" in page and "执行事务合伙人" in page  # the accepted names
    rows = [_row(1, "新疆昌吉州昌吉市宁边西路1号"), _row(2, "昌吉市某处")]
    r = _upload(planner, token, _export(rows))
    assert r.status_code == 400 and "默认管辖单位" in r.text
    r = _upload(planner, token, _export(rows), default_unit="652301-02")
    assert r.status_code == 200 and "导入成功" in r.text, r.text
    assert "由住所中的乡镇、街道或道路推断 1 户" in r.text and "使用默认单位 1 户" in r.text
    units = dict(session.exec(select(Entity.uscc, Entity.supervising_unit)).all())
    assert units[uscc("652301", "MB000001")] == "652301-01"
    assert units[uscc("652301", "MB000002")] == "652301-02"
    history = planner.get("/staff/imports").text
    assert "登记导出.csv" in history and "管辖单位推断 1，默认 1" in history


def test_a_bad_file_offers_its_full_error_report(browser, city, session: Session) -> None:
    planner = browser("planner")
    token = csrf_of(planner, "/staff/import")
    rows = [_row(n, "昌吉市宁边西路", 成立日期="2020-13-45") for n in range(1, 251)]
    r = _upload(planner, token, _export(rows))
    assert r.status_code == 400 and "共250处错误" in r.text
    assert r.text.count("2020-13-45") == 200  # the page shows the first 200
    link = r.text.split('href="/staff/import/errors/')[1].split('"')[0]
    report = planner.get(f"/staff/import/errors/{link}")
    assert report.status_code == 200 and report.headers["cache-control"] == "no-store"
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0][:4] == ["行", "列", "值", "原因"] and len(lines) == 251
    assert lines[1][:3] == ["3", "成立日期", "2020-13-45"] and lines[-1][0] == "252"
    assert (
        session.exec(select(Entity).where(Entity.name.startswith("昌吉市网页导入"))).first() is None
    )
    assert browser("reviewer").get(f"/staff/import/errors/{link}").status_code == 403
    assert planner.get("/staff/import/errors/" + "0" * 64 + ".csv").status_code == 404
    assert planner.get("/staff/import/errors/../../etc.csv").status_code == 404


def test_templates_download_and_load_back(browser, city, session: Session) -> None:
    planner = browser("planner")
    header = planner.get("/staff/import/template/entities.csv").content.decode("utf-8-sig")
    assert header.startswith("统一社会信用代码,企业名称,主体类型,")
    book = openpyxl.load_workbook(
        io.BytesIO(planner.get("/staff/import/template/inspectors.xlsx").content)
    )
    assert book.sheetnames == ["导入模板", "列名说明"]
    assert next(book["导入模板"].iter_rows(values_only=True))[0] == "执法证号"
    assert planner.get("/staff/import/template/nope.csv").status_code == 404
    assert (
        browser("inspector", inspector_badge="65230100001")
        .get("/staff/import/template/entities.csv")
        .status_code
        == 403
    )


def test_tax_filings_and_snapshots_from_the_page(browser, city, session: Session) -> None:
    planner = browser("planner")
    token = csrf_of(planner, "/staff/import")
    tax = "统一社会信用代码,年度,是否申报\r\n" + "".join(f"{u},2025,已申报\r\n" for u in city[:3])
    r = planner.post(
        "/staff/import",
        data={"csrf_token": token, "kind": "tax-filings"},
        files={"file": ("税务.csv", tax.encode("gb18030"), "text/csv")},
    )
    assert r.status_code == 200 and "导入成功" in r.text
    assert len(session.exec(select(TaxFiling)).all()) == 3
    in_unit = session.exec(
        select(Entity.uscc).where(Entity.supervising_unit == "652301-01").order_by(Entity.uscc)
    ).all()
    rows = [_row(1, "昌吉市宁边西路2号")]
    r = _upload(planner, token, _export(rows), snapshot_of="652301-01")
    assert r.status_code == 200 and "全量快照核对（652301-01）" in r.text
    assert f"<strong>{len(in_unit)}</strong> 户" in r.text and in_unit[0] in r.text
    assert len(
        session.exec(select(Entity).where(Entity.supervising_unit == "652301-01")).all()
    ) == (len(in_unit) + 1)  # nothing deleted
    r = _upload(planner, token, _export(rows), snapshot_of="火星")
    assert r.status_code == 400 and "全量快照的范围" in r.text
