"""Bulk import of entities and inspectors: formats, encodings, validation, all-or-nothing."""

import csv
import hashlib
import io
import json
import random
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlmodel import Session, func, select

from supervision.audit.models import AuditEntry
from supervision.clock import FixedClock
from supervision.errors import Invalid
from supervision.registry.importer import (
    ImportFailed,
    ImportReport,
    import_entities,
    import_inspectors,
)
from supervision.registry.models import (
    AnnualReport,
    Department,
    Entity,
    Industry,
    Inspector,
    Unit,
)
from supervision.registry.uscc import ALPHABET
from tests.uscc_reference import uscc

NOW = datetime(2025, 6, 1, 4, 0, tzinfo=UTC)  # 2025-06-01 12:00 in China

HEADER = [
    "统一社会信用代码",
    "企业名称",
    "主体类型",
    "法定代表人",
    "住所",
    "行政区划代码",
    "行业代码",
    "登记机关",
    "管辖单位代码",
    "成立日期",
]
ENGLISH = {
    "统一社会信用代码": "USCC",
    "企业名称": "Name",
    "主体类型": "Entity_Type",
    "法定代表人": "legal_rep",
    "住所": "REGISTERED_ADDRESS",
    "行政区划代码": "region_code",
    "行业代码": "industry_code",
    "登记机关": "registration_authority",
    "管辖单位代码": "supervising_unit",
    "成立日期": "established_on",
}


def code(n: int, org_type: str = "1") -> str:
    """A valid USCC whose organisation code encodes n."""
    digits = ""
    for _ in range(8):
        n, r = divmod(n, len(ALPHABET))
        digits = ALPHABET[r] + digits
    return uscc("652301", digits, kind=org_type)


def bad_check(uscc: str) -> str:
    wrong = ALPHABET[(ALPHABET.index(uscc[-1]) + 1) % len(ALPHABET)]
    return uscc[:-1] + wrong


def entity_row(n: int, **override: str) -> dict[str, str]:
    row = {
        "统一社会信用代码": code(n),
        "企业名称": f"昌吉市第{n}商贸有限公司",
        "主体类型": "企业",
        "法定代表人": "张三",
        "住所": f"新疆昌吉市建国路{n}号",
        "行政区划代码": "652301",
        "行业代码": "F5211",
        "登记机关": "昌吉市市场监督管理局",
        "管辖单位代码": "652301-01",
        "成立日期": "2019-03-01",
    }
    row.update(override)
    return row


def to_csv(
    rows: Iterable[dict[str, str]],
    header: list[str] | None = None,
    *,
    encoding: str = "utf-8",
    newline: str = "\r\n",
    delimiter: str = ",",
) -> bytes:
    rows = list(rows)
    header = header or (list(rows[0]) if rows else HEADER)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator=newline, delimiter=delimiter)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return buf.getvalue().encode(encoding)


def to_xlsx(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


def run(session: Session, data: bytes, **kwargs: Any) -> ImportReport:
    kwargs.setdefault("clock", FixedClock(NOW))
    return import_entities(session, io.BytesIO(data), filename="t.csv", actor="tester", **kwargs)


def refused(session: Session, data: bytes, **kwargs: Any) -> ImportReport:
    with pytest.raises(ImportFailed) as failed:
        run(session, data, **kwargs)
    assert isinstance(failed.value, Invalid) and failed.value.status == Invalid.status
    assert failed.value.detail()["report"]["ok"] is False
    return failed.value.report


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def entity(session: Session, uscc: str) -> Entity:
    return session.exec(select(Entity).where(Entity.uscc == uscc)).one()


@pytest.fixture
def refs(session: Session) -> None:
    """Reference rows, so the industry and unit checks are switched on."""
    session.add(Department(code="SCJ", name="昌吉市市场监督管理局"))
    session.add(Department(code="WJW", name="昌吉市卫生健康委员会"))
    session.flush()
    for unit_code, name, dept in [
        ("652301-01", "宁边路市场监督管理所", "SCJ"),
        ("652301-02", "延安北路市场监督管理所", "SCJ"),
        ("652301-WJW", "卫生健康综合监督执法大队", "WJW"),
    ]:
        session.add(Unit(code=unit_code, name=name, department_code=dept))
    for ind_code, level, parent in [
        ("A", "section", None),
        ("F", "section", None),
        ("H", "section", None),
        ("01", "division", "A"),
        ("52", "division", "F"),
        ("62", "division", "H"),
    ]:
        session.add(Industry(code=ind_code, name=ind_code, level=level, parent_code=parent))
    session.flush()


# ---- formats and encodings ------------------------------------------------------------------


def test_utf8_csv_with_crlf_inserts_entities_and_audits(session: Session, refs: None) -> None:
    second_row = entity_row(2, 主体类型="个体工商户", 成立日期="2020/5/6", 法定代表人="\u3000李四 ")
    data = to_csv([entity_row(1), second_row])
    report = run(session, data)
    assert json.loads(json.dumps(report.to_dict()))["ok"] is True
    assert report.ok and report.format == "csv" and report.encoding == "utf-8"
    assert (report.rows_read, report.inserted, report.updated) == (2, 2, 0)
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    first = entity(session, code(1))
    assert first.name == "昌吉市第1商贸有限公司"
    assert first.entity_type == "enterprise" and first.status == "active"
    assert first.risk_class == "B" and first.uscc_check_ok
    assert first.created_at == NOW and first.updated_at == NOW
    second = entity(session, code(2))
    assert second.entity_type == "individual" and second.legal_rep == "李四"
    assert second.established_on == date(2020, 5, 6)
    audit = session.exec(select(AuditEntry)).one()
    assert audit.action == "registry.import_entities" and audit.object_key == report.sha256
    assert '"inserted":2' in audit.payload


def test_utf8_with_bom(session: Session) -> None:
    report = run(session, b"\xef\xbb\xbf" + to_csv([entity_row(1)]))
    assert report.encoding == "utf-8-sig" and report.inserted == 1
    assert entity(session, code(1)).name == "昌吉市第1商贸有限公司"


def test_gb18030_detected(session: Session) -> None:
    # 𠮷 is outside GBK: only GB18030 (its superset) can encode it.
    data = to_csv([entity_row(1, 企业名称="昌吉市𠮷祥餐饮店")], encoding="gb18030")
    report = run(session, data)
    assert report.encoding == "gb18030"
    assert entity(session, code(1)).name == "昌吉市𠮷祥餐饮店"


def ascii_csv(rows: int, *, last: dict[str, str] | None = None) -> bytes:
    """An all-ASCII file (English header) larger than the importer's first read block."""
    plain = {"主体类型": "enterprise", "法定代表人": "Zhang San", "住所": "Road", "登记机关": "AMR"}
    body = [entity_row(n, 企业名称=f"Shop {n} " + "x" * 150, **plain) for n in range(1, rows)]
    if last is not None:
        body.append(entity_row(rows, **{**plain, **last}))
    header = [ENGLISH[h] for h in HEADER]
    return to_csv([{ENGLISH[k]: v for k, v in r.items()} for r in body], header, encoding="gbk")


def test_gbk_byte_late_in_a_large_file_still_selects_gb18030(session: Session) -> None:
    data = ascii_csv(8000, last={"企业名称": "昌吉市天山商贸有限公司"})
    assert len(data) > 1 << 20 and data[: 1 << 20].isascii()
    report = run(session, data)
    assert report.encoding == "gb18030" and report.inserted == 8000
    assert entity(session, code(8000)).name == "昌吉市天山商贸有限公司"


def test_undecodable_byte_late_in_a_gb18030_file_is_located(session: Session) -> None:
    # 0xFF is neither UTF-8 nor GB18030; rows before it were already written, then rolled back.
    data = ascii_csv(13_000).replace(b"Shop 12000 ", b"Shop \xff ")
    report = refused(session, data)
    assert report.encoding == "gb18030"
    assert abs(report.errors[0].line - 12_001) < 100 and "GB18030" in report.errors[0].reason_zh
    assert count(session, Entity) == 0


def test_mixed_utf8_and_gbk_refused(session: Session) -> None:
    data = to_csv([entity_row(1)]) + to_csv([entity_row(2)], encoding="gbk").split(b"\r\n", 1)[1]
    report = refused(session, data)
    assert report.errors[0].line == 3
    assert "UTF-8" in report.errors[0].reason_zh and "GBK" in report.errors[0].reason_en
    assert count(session, Entity) == 0


def test_lf_and_english_headers_any_case(session: Session) -> None:
    header = [ENGLISH[h] for h in HEADER]
    rows = [{ENGLISH[k]: v for k, v in entity_row(n).items()} for n in (1, 2)]
    report = run(session, to_csv(rows, header, newline="\n"))
    assert report.inserted == 2 and report.ignored_columns == []
    assert entity(session, code(2)).legal_rep == "张三"


def test_tab_separated(session: Session) -> None:
    report = run(session, to_csv([entity_row(1)], delimiter="\t"))
    assert report.inserted == 1
    assert entity(session, code(1)).registered_address == "新疆昌吉市建国路1号"


def test_xlsx_with_number_and_date_cells(session: Session) -> None:
    row = entity_row(1)
    row["行政区划代码"] = 652301  # typed as a number in Excel
    row["成立日期"] = datetime(2018, 7, 9)  # a date cell
    data = to_xlsx([[*HEADER, "已报年报年度"], [*row.values(), 2021]])
    report = run(session, data)
    assert report.format == "xlsx" and report.encoding is None and report.inserted == 1
    stored = entity(session, code(1))
    assert stored.region_code == "652301" and stored.established_on == date(2018, 7, 9)
    assert session.exec(select(AnnualReport.year)).all() == [2021]


def test_xlsx_number_beyond_excel_precision_is_refused(session: Session) -> None:
    row = list(entity_row(1).values())
    row[0] = 913501001234567890  # an all-digit code typed as a number: Excel keeps 15 digits
    report = refused(session, to_xlsx([HEADER, list(entity_row(2).values()), row]))
    assert (report.errors[0].line, report.errors[0].column) == (3, "统一社会信用代码")
    assert "15" in report.errors[0].reason_zh
    assert count(session, Entity) == 0


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (to_csv([entity_row(1)], encoding="utf-16"), "utf_16"),
        (to_csv([entity_row(1)], encoding="utf-16-le"), "utf_16"),
        (random.Random(7).randbytes(4096), "detected: binary"),
    ],
    ids=["utf16-bom", "utf16-no-bom", "random-bytes"],
)
def test_wrong_encoding_refused_clearly(session: Session, data: bytes, detected: str) -> None:
    report = refused(session, data)
    error = report.errors[0]
    assert "请另存为UTF-8或GB18030编码的CSV" in error.reason_zh
    assert detected in error.reason_en
    assert report.sha256 == hashlib.sha256(data).hexdigest()


def test_a_damaged_legacy_xls_is_refused_readably(session: Session) -> None:
    report = refused(session, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    assert "无法读取旧版Excel（.xls）" in report.errors[0].reason_zh


def test_broken_xlsx_refused(session: Session) -> None:
    report = refused(session, b"PK\x03\x04 not really a zip")
    assert "XLSX" in report.errors[0].reason_zh


@pytest.mark.parametrize("data", [b"", b"\r\n \r\n"], ids=["0-bytes", "blank-lines"])
def test_empty_file(session: Session, data: bytes) -> None:
    report = refused(session, data)
    assert report.errors[0].reason_zh.startswith("文件为空")


def test_header_only_file_is_an_empty_import(session: Session) -> None:
    report = run(session, to_csv([]))
    assert report.ok and report.rows_read == 0 and report.inserted == 0
    assert count(session, AuditEntry) == 1


def test_non_seekable_stream_and_path_sources(session: Session, tmp_path: Path) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self.inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    pipe = Pipe(to_csv([entity_row(1)], encoding="gb18030"))
    assert not pipe.seekable()
    report = import_entities(session, pipe, filename="p.csv", actor="t", clock=FixedClock(NOW))
    assert report.inserted == 1 and report.encoding == "gb18030"
    path = tmp_path / "entities.csv"
    path.write_bytes(to_csv([entity_row(2)]))
    report = import_entities(session, path, filename=path.name, actor="t", clock=FixedClock(NOW))
    assert report.inserted == 1
    assert entity(session, code(2)).name == "昌吉市第2商贸有限公司"


# ---- upsert ---------------------------------------------------------------------------------


def test_reimport_updates_changed_rows_only(session: Session) -> None:
    clock = FixedClock(NOW)
    run(session, to_csv([entity_row(1), entity_row(2)]), clock=clock)
    clock.advance(days=1)
    report = run(
        session, to_csv([entity_row(1, 企业名称="新名称有限公司"), entity_row(2)]), clock=clock
    )
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 1)
    changed, same = entity(session, code(1)), entity(session, code(2))
    assert changed.name == "新名称有限公司"
    assert changed.created_at == NOW and changed.updated_at == clock.now()
    assert same.updated_at == NOW
    assert count(session, Entity) == 2


def test_many_chunks_and_upserts_count_and_write_every_row(session: Session, monkeypatch) -> None:
    """Small chunks and upsert batches, so that the PostgreSQL writer stages rows while an
    upsert runs, buffers, waits and upserts the rest at the end (SQLite: chunks only)."""
    from supervision.registry.importer import stream, writers

    monkeypatch.setattr(stream, "CHUNK_ROWS", 4)
    monkeypatch.setattr(writers._PostgresWriter, "UPSERT_ROWS", 7)
    monkeypatch.setattr(writers._PostgresWriter, "BUFFER_ROWS", 12)
    upsert = writers._PostgresWriter._upsert_stage

    def slow_upsert(self):  # noqa: ANN001, ANN202 — the main thread validates and buffers meanwhile
        time.sleep(0.05)
        return upsert(self)

    monkeypatch.setattr(writers._PostgresWriter, "_upsert_stage", slow_upsert)
    clock = FixedClock(NOW)
    report = run(
        session,
        to_csv([entity_row(n, 年报年度="2023") for n in range(1, 41)], [*HEADER, "年报年度"]),
        clock=clock,
    )
    assert (report.rows_read, report.inserted, report.updated) == (40, 40, 0)
    assert report.annual_reports_added == 40
    clock.advance(days=1)
    rows = [entity_row(n, 企业名称=f"更名{n}有限公司") for n in range(1, 41, 3)]  # 14 changed
    rows += [entity_row(n) for n in range(2, 41, 3)]  # 13 the same
    rows += [entity_row(n) for n in range(41, 64)]  # 23 new
    report = run(session, to_csv(rows), clock=clock)
    assert (report.rows_read, report.inserted, report.updated, report.unchanged) == (50, 23, 14, 13)
    assert count(session, Entity) == 63
    assert entity(session, code(40)).name == "更名40有限公司"
    assert entity(session, code(2)).updated_at == NOW


def test_columns_absent_from_the_file_are_kept(session: Session) -> None:
    header = [*HEADER, "联系电话", "信用风险分类", "登记状态"]
    run(
        session,
        to_csv(
            [
                {
                    **entity_row(1),
                    "联系电话": "0994-1234567",
                    "信用风险分类": "c",
                    "登记状态": "吊销",
                }
            ],
            header,
        ),
    )
    run(session, to_csv([entity_row(1, 法定代表人="李四")]))
    stored = entity(session, code(1))
    assert stored.legal_rep == "李四"
    assert (stored.phone, stored.risk_class, stored.status) == ("0994-1234567", "C", "revoked")


# ---- validation -----------------------------------------------------------------------------


def test_wrong_check_character_is_flagged_and_accepted(session: Session) -> None:
    flagged = bad_check(code(2))
    report = run(session, to_csv([entity_row(1), entity_row(2, 统一社会信用代码=flagged)]))
    assert report.inserted == 2 and report.flagged_total == 1
    warning = report.flagged[0]
    assert (warning.line, warning.column, warning.value) == (3, "统一社会信用代码", flagged)
    assert "校验位" in warning.reason_zh
    assert entity(session, flagged).uscc_check_ok is False
    assert entity(session, code(1)).uscc_check_ok is True


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (code(5)[:17], "18位"),
        (code(5) + "1", "18位"),
        (code(5)[:10] + "I" + code(5)[11:], "不在代码字符集内"),
        (code(5)[:10] + "O" + code(5)[11:], "不在代码字符集内"),
        (code(5)[:10] + "S" + code(5)[11:], "不在代码字符集内"),
        (code(5)[:10] + "V" + code(5)[11:], "不在代码字符集内"),
        (code(5)[:10] + "Z" + code(5)[11:], "不在代码字符集内"),
        ("91" + "65A301" + code(5)[8:], "行政区划"),
    ],
    ids=["short", "long", "letter-I", "letter-O", "letter-S", "letter-V", "letter-Z", "region"],
)
def test_malformed_codes_are_row_errors(session: Session, bad: str, reason: str) -> None:
    report = refused(
        session, to_csv([entity_row(1), entity_row(5, 统一社会信用代码=bad), entity_row(3)])
    )
    assert report.error_total == 1
    error = report.errors[0]
    assert (error.line, error.column, error.value) == (3, "统一社会信用代码", bad)
    assert reason in error.reason_zh
    assert count(session, Entity) == 0


def test_duplicate_codes_in_one_file_name_both_lines(session: Session) -> None:
    rows = [entity_row(1), entity_row(2), entity_row(3, 统一社会信用代码=code(1).lower())]
    report = refused(session, to_csv(rows))
    error = report.errors[0]
    assert error.line == 4 and error.column == "统一社会信用代码"
    assert "第2行" in error.reason_zh and "line 2" in error.reason_en


def test_missing_required_columns_are_named(session: Session) -> None:
    header = [h for h in HEADER if h not in ("行业代码", "成立日期")]
    report = refused(session, to_csv([entity_row(1)], header))
    error = report.errors[0]
    assert error.line == 1
    assert "行业代码" in error.reason_zh and "成立日期" in error.reason_zh
    assert "industry_code" in error.reason_en and "established_on" in error.reason_en


def test_two_names_of_one_field_read_the_preferred_one(session: Session) -> None:
    """Exports carry 成立日期 and 核准日期, 企业名称 and 名称: the preferred name is read,
    the other listed as ignored; the same header twice is refused."""
    row = {**entity_row(1), "名称": "别的名字"}
    report = run(session, to_csv([row], [*HEADER, "名称"]))
    assert report.ok and report.ignored_columns == ["名称（与“企业名称”同义，未采用）"]
    assert session.exec(select(Entity.name)).one() == entity_row(1)["企业名称"]
    report = refused(session, to_csv([entity_row(2)], [*HEADER, "企业名称"]))
    assert "企业名称" in report.errors[0].reason_zh and "两次" in report.errors[0].reason_zh


def test_unknown_columns_are_ignored_and_reported(session: Session) -> None:
    report = run(session, to_csv([{**entity_row(1), "备注": "x"}], [*HEADER, "备注"]))
    assert report.ok and report.ignored_columns == ["备注"]


@pytest.mark.parametrize(
    "written",
    ["2019-03-01", "2019/3/1", "20190301", "2019年3月1日", "2019.03.01", "2019-03-01 00:00:00"],
)
def test_date_formats(session: Session, written: str) -> None:
    run(session, to_csv([entity_row(1, 成立日期=written)]))
    assert entity(session, code(1)).established_on == date(2019, 3, 1)


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("2025-06-02", "晚于今天"),
        ("2019-02-30", "不存在"),
        ("3/1/2019", "无法识别"),
        ("1899-12-31", "1900"),
    ],
)
def test_bad_dates(session: Session, written: str, reason: str) -> None:
    report = refused(session, to_csv([entity_row(1, 成立日期=written)]))
    assert report.errors[0].column == "成立日期" and reason in report.errors[0].reason_zh


def test_row_errors_list_every_problem_with_line_and_column(session: Session) -> None:
    rows = [
        entity_row(1, 主体类型="外星人"),
        entity_row(2, 行政区划代码="65230"),
        entity_row(3, 法定代表人=""),
        entity_row(4, 行业代码="F52X"),
        {**entity_row(5), "登记状态": "营业中"},
    ]
    report = refused(session, to_csv(rows, [*HEADER, "登记状态"]))
    found = {(e.line, e.column) for e in report.errors}
    assert found == {
        (2, "主体类型"),
        (3, "行政区划代码"),
        (4, "法定代表人"),
        (5, "行业代码"),
        (6, "登记状态"),
    }


def test_reference_checks_when_tables_are_loaded(session: Session, refs: None) -> None:
    rows = [
        entity_row(1, 行业代码="Q84"),  # division 84 not loaded
        entity_row(2, 行业代码="A52"),  # 52 belongs to F
        entity_row(3, 管辖单位代码="652301-99"),
        entity_row(4, 管辖单位代码="延安北路市场监督管理所"),  # a unit's name is accepted
    ]
    report = refused(session, to_csv(rows))
    assert [(e.line, e.column) for e in report.errors] == [
        (2, "行业代码"),
        (3, "行业代码"),
        (4, "管辖单位代码"),
    ]


def test_reference_checks_skipped_when_tables_are_empty(session: Session) -> None:
    report = run(session, to_csv([entity_row(1, 行业代码="Q84", 管辖单位代码="any-unit")]))
    assert report.inserted == 1


def test_unit_given_by_name_is_stored_as_its_code(session: Session, refs: None) -> None:
    run(session, to_csv([entity_row(1, 管辖单位代码="延安北路市场监督管理所")]))
    assert entity(session, code(1)).supervising_unit == "652301-02"


def test_oversized_cells(session: Session) -> None:
    rows = [entity_row(1, 住所="路" * 301), entity_row(2), entity_row(3, 住所="x" * 1_000_000)]
    report = refused(session, to_csv(rows))
    first, second = report.errors
    assert (first.line, first.column) == (2, "住所") and "301" in first.reason_zh
    assert len(first.value) <= 51
    assert second.line == 4 and "字符" in second.reason_zh


def test_overlong_line_stops_reading(session: Session) -> None:
    report = refused(session, to_csv([entity_row(1), entity_row(2, 住所="x" * 1_100_000)]))
    assert report.error_total == 1
    assert report.errors[0].line == 3 and "1048576" in report.errors[0].reason_zh


def test_nul_byte_is_a_row_error(session: Session) -> None:
    report = refused(session, to_csv([entity_row(1, 企业名称="昌吉\x00商贸")]))
    error = report.errors[0]
    assert (error.line, error.column) == (2, "企业名称") and "NUL" in error.reason_en
    assert "\x00" not in error.value


def test_formula_looking_values_are_stored_as_text(session: Session) -> None:
    formula = "=cmd|' /C calc'!A0"
    run(session, to_csv([entity_row(1, 企业名称=formula)]))
    assert entity(session, code(1)).name == formula


def test_row_with_more_cells_than_the_header(session: Session) -> None:
    data = to_csv([entity_row(1)]) + f"{code(2)},名称,企业,张三,昌吉市,建国路,652301".encode()
    data += b",F52,authority,652301-01,2019-03-01\r\n"
    report = refused(session, data)
    assert report.errors[0].line == 3 and "多于表头" in report.errors[0].reason_zh


def test_very_many_columns(session: Session) -> None:
    header = [*HEADER, *(f"extra{i}" for i in range(5000))]
    report = run(session, to_csv([entity_row(1)], header))
    assert report.inserted == 1 and len(report.ignored_columns) == 5000


def test_error_cap_keeps_the_total(session: Session) -> None:
    rows = [entity_row(n, 成立日期="bad") for n in range(30)]
    report = refused(session, to_csv(rows), error_cap=10)
    assert len(report.errors) == 10 and report.error_total == 30
    assert report.errors_truncated and report.to_dict()["errors_truncated"] is True
    assert [e.line for e in report.errors] == list(range(2, 12))


def test_annual_report_years(session: Session) -> None:
    header = [*HEADER, "已报年报年度"]
    run(session, to_csv([{**entity_row(1), "已报年报年度": "2019，2020 2021、2022年"}], header))
    years = session.exec(select(AnnualReport.year).where(AnnualReport.uscc == code(1))).all()
    assert sorted(years) == [2019, 2020, 2021, 2022]
    report = run(session, to_csv([{**entity_row(1), "已报年报年度": "2023"}], header))
    assert report.annual_reports_added == 1 and report.unchanged == 1
    assert count(session, AnnualReport) == 5  # years not mentioned are kept
    for bad in ("1989", "2026", "二〇二一"):
        failed = refused(session, to_csv([{**entity_row(1), "已报年报年度": bad}], header))
        assert failed.errors[0].column == "已报年报年度"


# ---- all or nothing -------------------------------------------------------------------------


def test_one_bad_row_in_100k_writes_nothing(session: Session) -> None:
    bad_line = 61_235
    header = [*HEADER, "已报年报年度"]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    template = list(entity_row(0).values())
    for n in range(1, 100_001):
        template[0] = code(n) if n != bad_line - 1 else code(n)[:16]
        template[1] = f"昌吉市第{n}商贸有限公司"
        writer.writerow([*template, "2021,2022"])
    seen: list[int] = []
    before = count(session, Entity), count(session, AnnualReport)
    report = refused(session, buf.getvalue().encode(), progress=seen.append)
    assert report.rows_read == 100_000 and report.error_total == 1
    assert (report.errors[0].line, report.errors[0].column) == (bad_line, "统一社会信用代码")
    assert seen[-1] == 100_000 and len(seen) > 5
    assert (count(session, Entity), count(session, AnnualReport)) == before
    assert count(session, AuditEntry) == 0


def test_failed_import_leaves_nothing_even_if_the_caller_commits(session: Session) -> None:
    run(session, to_csv([entity_row(1)]))
    rows = [entity_row(1, 企业名称="改名"), *(entity_row(n) for n in range(2, 12_000))]
    rows.append(entity_row(12_000, 成立日期="bad"))
    refused(session, to_csv(rows))
    session.commit()  # a careless caller: the import's own savepoint already rolled back
    assert count(session, Entity) == 1
    assert entity(session, code(1)).name == "昌吉市第1商贸有限公司"


# ---- inspectors -----------------------------------------------------------------------------

INSPECTOR_HEADER = [
    "执法证号",
    "姓名",
    "部门代码",
    "单位代码",
    "执法资格",
    "在岗",
    "专家",
    "证件有效期至",
]


def inspectors(session: Session, rows: list[list[str]], **kwargs: Any) -> ImportReport:
    data = to_csv([dict(zip(INSPECTOR_HEADER, r, strict=True)) for r in rows], INSPECTOR_HEADER)
    return import_inspectors(
        session, io.BytesIO(data), filename="i.csv", actor="t", clock=FixedClock(NOW), **kwargs
    )


def test_inspectors_import_and_upsert(session: Session, refs: None) -> None:
    rows = [
        ["65230101001", "王芳", "SCJ", "652301-01", "price、food", "是", "否", "2027-12-31"],
        ["65230101002", "李强", "昌吉市市场监督管理局", "延安北路市场监督管理所", "", "", "", ""],
    ]
    report = inspectors(session, rows)
    assert report.kind == "inspectors" and report.inserted == 2
    first = session.exec(select(Inspector).where(Inspector.badge_no == "65230101001")).one()
    assert first.qualifications == "food,price" and first.active and not first.is_expert
    assert first.cert_valid_until == date(2027, 12, 31)
    second = session.exec(select(Inspector).where(Inspector.badge_no == "65230101002")).one()
    assert (second.department_code, second.unit_code) == ("SCJ", "652301-02")
    assert second.active and not second.is_expert and second.qualifications == ""
    rows[1][6] = "是"
    report = inspectors(session, rows)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 1)
    session.refresh(second)
    assert second.is_expert


def test_inspectors_with_unknown_department_or_unit_refused(session: Session, refs: None) -> None:
    rows = [
        ["65230101001", "王芳", "GSJ", "652301-01", "", "", "", ""],
        ["65230101002", "李强", "SCJ", "652301-77", "", "", "", ""],
        ["65230101003", "赵敏", "SCJ", "652301-WJW", "", "", "", ""],
        ["6523 0101004", "孙丽", "SCJ", "652301-01", "", "", "", ""],
        ["65230101005", "周杰", "SCJ", "652301-01", "food;x", "也许", "", ""],
        ["65230101001", "王芳", "SCJ", "652301-01", "", "", "", ""],
    ]
    with pytest.raises(ImportFailed) as failed:
        inspectors(session, rows)
    found = [(e.line, e.column) for e in failed.value.report.errors]
    assert found == [
        (2, "部门代码"),
        (3, "单位代码"),
        (4, "单位代码"),  # the unit belongs to another department
        (5, "执法证号"),
        (6, "执法资格"),
        (6, "在岗"),
        (7, "执法证号"),  # duplicate of line 2
    ]
    assert count(session, Inspector) == 0
