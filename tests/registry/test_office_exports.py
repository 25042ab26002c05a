"""Exports as registration systems write them, loaded without editing.

The file below is what a clerk gets from a registration system: a title row and a note above
the header, the columns `统一社会信用代码, 企业名称, 类型, 法定代表人, 住所, 成立日期, 登记机关,
登记状态, 行政区划, 行业代码` (no supervising unit), statuses and types in words, the region as
text, dates in four spellings, a totals row at the end, GB18030 with CRLF.
"""

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlwt
from sqlmodel import Session, select

from supervision.clock import FixedClock
from supervision.registry.importer import ImportFailed, import_entities, import_upload
from supervision.registry.models import Entity
from supervision.registry.reference import load_reference_data
from tests.uscc_reference import uscc

CLOCK = FixedClock(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
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
    "联络员",  # a column the product does not know: ignored, and listed
]
# (type as written, status as written, address, region as written, industry, date) → expected
CASES = [
    (
        "有限责任公司（自然人投资或控股）",
        "存续",
        "新疆昌吉州昌吉市宁边西路12号",
        "652301",
        "G5430",
        "2002-05-16",
        ("enterprise", "active", "652301-01", "652301", "G5430", "2002-05-16"),
    ),
    (
        "股份有限公司",
        "在业",
        "昌吉市延安北路街道文化西路8号",
        "新疆维吾尔自治区昌吉回族自治州昌吉市",
        "5430",
        "2002/5/16",
        ("enterprise", "active", "652301-02", "652301", "5430", "2002-05-16"),
    ),
    (
        "个人独资企业",
        "开业",
        "昌吉市三工镇头工村3组",
        "昌吉市",
        "批发业",
        "2002年05月16日",
        ("enterprise", "active", "652301-06", "652301", "51", "2002-05-16"),
    ),
    (
        "合伙企业",
        "吊销，未注销",
        "昌吉市二六工镇太平村",
        "652301",
        "F5211",
        "20020516",
        ("enterprise", "revoked", "652301-07", "652301", "F5211", "2002-05-16"),
    ),
    (
        "个体工商户",
        "在营",
        "昌吉市六工镇西沟村",
        "652301",
        "6210",
        "2019-03-01",
        ("individual", "active", "652301-07", "652301", "6210", "2019-03-01"),
    ),
    (
        "农民专业合作社",
        "注销",
        "昌吉市佃坝镇五十户村",
        "652301",
        "0151",
        "2015-06-01",
        ("cooperative", "deregistered", "652301-08", "652301", "0151", "2015-06-01"),
    ),
    (
        "有限责任公司（自然人独资）",
        "责令关闭",
        "昌吉市硫磺沟镇新泉村",
        "652301",
        "1010",
        "2010-01-01",
        ("enterprise", "revoked", "652301-09", "652301", "1010", "2010-01-01"),
    ),
    # A town's name wins over a road that shares its name with a city road.
    (
        "有限责任公司",
        "存续",
        "昌吉市三工镇宁边西路5号",
        "652301",
        "7210",
        "2012-08-08",
        ("enterprise", "active", "652301-06", "652301", "7210", "2012-08-08"),
    ),
    (
        "有限责任公司",
        "迁出",
        "昌吉市北京南路世纪大道1号",
        "652301",
        "7210",
        "2012-08-08",
        ("enterprise", "moved_out", "652301-03", "652301", "7210", "2012-08-08"),
    ),
]


@pytest.fixture
def registry(session: Session, data_dir: Path) -> Session:
    load_reference_data(session, data_dir, actor="test", clock=CLOCK)
    session.flush()
    return session


def _code(n: int, kind: str) -> str:
    """A valid credit code whose type characters say the entity's kind (91/92/93)."""
    return uscc("652301", f"MA{n:06d}", kind={"individual": "2", "cooperative": "3"}.get(kind, "1"))


def _rows(cases=CASES, start: int = 1) -> list[list[str]]:
    rows = []
    for n, (type_, status, address, region, industry, day, expected) in enumerate(cases, start):
        rows.append(
            [
                _code(n, expected[0]),
                f"昌吉市测试{n}号",
                type_,
                "张三",
                address,
                day,
                "昌吉市市场监督管理局",
                status,
                region,
                industry,
                "李四",
            ]
        )
    return rows


def export(rows: list[list[str]], header: list[str] = HEADER, *, encoding="gb18030") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["昌吉市市场主体登记信息导出"])
    w.writerow(["导出时间：2026-11-25 17:02", "导出人：登记窗口"])
    w.writerow(header)
    w.writerows(rows)
    w.writerow(["合计", f"{len(rows)}户"])
    return buf.getvalue().encode(encoding)


def test_a_registration_systems_export_loads_as_it_is(registry: Session) -> None:
    data = export(_rows())
    assert b"\r\n" in data and data.decode("gb18030")  # GB18030 with CRLF, not UTF-8
    report = import_entities(
        registry, io.BytesIO(data), filename="登记导出.csv", actor="clerk", clock=CLOCK
    )
    assert report.ok and report.inserted == len(CASES) and report.encoding == "gb18030"
    assert report.header_line == 3 and report.skipped_lines == [len(CASES) + 4]
    assert report.ignored_columns == ["联络员"]
    assert report.derived == {"supervising_unit": {"derived": len(CASES)}}
    for n, case in enumerate(CASES, 1):
        entity = registry.exec(select(Entity).where(Entity.uscc == _code(n, case[6][0]))).one()
        got = (
            entity.entity_type,
            entity.status,
            entity.supervising_unit,
            entity.region_code,
            entity.industry_code,
            entity.established_on.isoformat(),
        )
        assert got == case[6], (n, case[:4])


def test_the_type_comes_from_the_credit_code_when_the_column_is_missing(registry) -> None:
    header = [h for h in HEADER if h != "类型"]
    rows = [[c for i, c in enumerate(r) if i != 2] for r in _rows()]
    report = import_entities(
        registry, io.BytesIO(export(rows, header)), filename="e.csv", actor="c", clock=CLOCK
    )
    assert report.ok and report.derived["entity_type"] == {"derived": len(CASES)}
    types = dict(registry.exec(select(Entity.uscc, Entity.entity_type)).all())
    assert types[_code(5, "individual")] == "individual"
    assert types[_code(6, "cooperative")] == "cooperative"


def test_an_address_naming_no_township_needs_a_default_unit(registry) -> None:
    rows = _rows()
    rows[2][4] = "新疆昌吉州某处无名路1号"
    rows[4][4] = "昌吉市"
    with pytest.raises(ImportFailed) as failed:
        import_entities(
            registry, io.BytesIO(export(rows)), filename="e.csv", actor="c", clock=CLOCK
        )
    report = failed.value.report
    assert [(e.line, e.column) for e in report.errors] == [(6, "住所"), (8, "住所")]
    assert "默认管辖单位" in report.errors[0].reason_zh
    assert registry.exec(select(Entity)).first() is None  # nothing written
    report = import_entities(
        registry,
        io.BytesIO(export(rows)),
        filename="e.csv",
        actor="c",
        clock=CLOCK,
        default_unit="昌吉市市场监督管理局信用监督管理科",
    )
    assert report.ok and report.derived["supervising_unit"] == {
        "derived": len(CASES) - 2,
        "default": 2,
    }
    assert [f.line for f in report.flagged] == [6, 8]
    units = dict(registry.exec(select(Entity.uscc, Entity.supervising_unit)).all())
    assert units[_code(3, "enterprise")] == "652301-XY"


def test_an_unknown_default_unit_is_refused_by_name(registry) -> None:
    with pytest.raises(ImportFailed) as failed:
        import_entities(
            registry,
            io.BytesIO(export(_rows())),
            filename="e.csv",
            actor="c",
            clock=CLOCK,
            default_unit="不存在的所",
        )
    assert "不存在的所" in failed.value.report.errors[0].reason_zh


def test_bad_rows_are_still_all_or_nothing_with_line_column_and_reason(registry) -> None:
    rows = _rows()
    rows[1][7] = "营业中"  # a status no system writes
    rows[3][8] = "火星市"  # a region nobody knows
    rows[5][5] = "2002-13-01"
    with pytest.raises(ImportFailed) as failed:
        import_entities(
            registry, io.BytesIO(export(rows)), filename="e.csv", actor="c", clock=CLOCK
        )
    found = [(e.line, e.column) for e in failed.value.report.errors]
    assert found == [(5, "登记状态"), (7, "行政区划"), (9, "成立日期")]
    assert registry.exec(select(Entity)).first() is None


def test_check_characters_warn_and_malformed_codes_refuse_naming_the_line(registry) -> None:
    rows = _rows()
    good = rows[0][0]
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    rows[0][0] = wrong
    report = import_entities(
        registry, io.BytesIO(export(rows)), filename="e.csv", actor="c", clock=CLOCK
    )
    assert report.ok and report.flagged[0].line == 4 and report.flagged[0].value == wrong
    rows[1][0] = "91652301ABC"  # not 18 characters
    with pytest.raises(ImportFailed) as failed:
        import_entities(
            registry, io.BytesIO(export(rows)), filename="e2.csv", actor="c", clock=CLOCK
        )
    error = failed.value.report.errors[0]
    assert (error.line, error.column) == (5, "统一社会信用代码")


def test_the_upload_path_takes_the_default_unit_too(registry) -> None:
    rows = _rows()
    rows[0][4] = "无法识别的地址"
    report = import_upload(
        registry,
        "entities",
        io.BytesIO(export(rows)),
        filename="e.csv",
        max_bytes=1 << 20,
        actor="c",
        clock=CLOCK,
        default_unit="652301-XY",
    )
    assert report.ok and report.derived["supervising_unit"]["default"] == 1


def _sheet_rows(rows: list[list[str]]) -> list[list[object]]:
    """The export's rows as a spreadsheet holds them: dates as date cells, a totals row."""
    out: list[list[object]] = [["昌吉市市场主体登记信息导出"], [], HEADER]
    for row in rows:
        cells: list[object] = list(row)
        if row[5] == "2019-03-01":
            cells[5] = date(2019, 3, 1)
        out.append(cells)
    out.append(["合计", len(rows)])
    return out


def _xls(sheets: dict[str, list[list[object]]]) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, date):
                    sheet.write(r, c, value, dates)
                else:
                    sheet.write(r, c, value)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("write", [_xls, _xlsx], ids=["xls", "xlsx"])
def test_old_and_new_excel_files_load_from_the_sheet_with_the_header(registry, write) -> None:
    """A workbook with a cover sheet first: the sheet holding the header is read; a date
    typed as an Excel date cell is a date; the totals row is left out."""
    sheets = {"说明": [["本表由登记系统导出"], ["请勿修改"]], "主体名录": _sheet_rows(_rows())}
    data = write(sheets)
    report = import_entities(
        registry, io.BytesIO(data), filename="导出.xls", actor="c", clock=CLOCK
    )
    assert report.ok and report.inserted == len(CASES), report.errors
    assert report.format == write.__name__.strip("_") and report.header_line == 3
    assert report.skipped_lines == [len(CASES) + 4]
    individual = registry.exec(select(Entity).where(Entity.uscc == _code(5, "individual"))).one()
    assert individual.established_on == date(2019, 3, 1)
    assert individual.supervising_unit == "652301-07"
