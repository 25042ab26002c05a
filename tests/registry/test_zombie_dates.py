"""Trading and revocation dates of entities, and tax filings: import, API, validation."""

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from supervision.audit.models import AuditEntry
from supervision.clock import FixedClock
from supervision.registry.importer import ImportFailed, ImportReport, import_tax_filings
from supervision.registry.models import Entity, TaxFiling
from tests.api.test_registry_api import GOOD, entity_body, units  # noqa: F401
from tests.registry.test_importer import (
    HEADER,
    NOW,
    code,
    count,
    entity,
    entity_row,
    refused,
    run,
    to_csv,
    to_xlsx,
)

DATES = [*HEADER, "登记状态", "开业日期", "自行停业日期", "吊销日期"]


def dated(n: int, **override: str) -> dict[str, str]:
    return entity_row(n, **{"登记状态": "存续", "开业日期": "2019-03-20", **override})


# ---- entity dates in the import ------------------------------------------------------------


def test_dates_are_imported_with_chinese_or_english_headers(session: Session) -> None:
    report = run(
        session,
        to_csv(
            [
                dated(1),
                dated(2, 自行停业日期="2024-10-08"),
                dated(3, 登记状态="吊销", 吊销日期="2022年5月6日"),
                dated(4, 登记状态="注销", 吊销日期="2021-01-04"),  # revoked, then deregistered
                entity_row(5, 登记状态="存续"),  # not known to have opened
            ],
            DATES,
        ),
    )
    assert report.ok and report.inserted == 5 and report.flagged_total == 0
    assert entity(session, code(1)).opened_on == date(2019, 3, 20)
    assert entity(session, code(2)).ceased_trading_on == date(2024, 10, 8)
    assert entity(session, code(3)).revoked_on == date(2022, 5, 6)
    assert entity(session, code(4)).revoked_on == date(2021, 1, 4)
    assert entity(session, code(5)).opened_on is None
    english = {
        "开业日期": "opened_on",
        "自行停业日期": "Ceased_Trading_On",
        "吊销日期": "REVOKED_ON",
    }
    header = [english.get(h, h) for h in DATES]
    rows = [{english.get(k, k): v for k, v in dated(6, 自行停业日期="2025-01-02").items()}]
    run(session, to_csv(rows, header))
    assert entity(session, code(6)).ceased_trading_on == date(2025, 1, 2)
    assert entity(session, code(6)).opened_on == date(2019, 3, 20)


def test_bad_dates_refused_row_by_row_with_nothing_written(session: Session) -> None:
    rows = [
        dated(1),  # good
        dated(2, 开业日期="2019-02-28"),  # before establishment (2019-03-01)
        dated(3, 吊销日期="2022-05-06"),  # revoked on, but in business
        dated(4, 登记状态="吊销", 吊销日期="2025-06-02"),  # after today (2025-06-01)
        dated(5, 自行停业日期="2019-03-19"),  # stopped before it opened
        dated(6, 登记状态="吊销", 吊销日期="2018-12-31"),  # before establishment
        dated(7, 开业日期="2019-2-30"),  # no such date
    ]
    report = refused(session, to_csv(rows, DATES))
    assert count(session, Entity) == 0
    assert [(e.line, e.column) for e in report.errors] == [
        (3, "开业日期"),
        (4, "吊销日期"),
        (5, "吊销日期"),
        (6, "自行停业日期"),
        (7, "吊销日期"),
        (8, "开业日期"),
    ]
    reasons = [e.reason_zh for e in report.errors]
    assert "不能早于成立日期（2019-03-01）" in reasons[0]
    assert "存续" in reasons[1] and "不能有吊销日期" in reasons[1]
    assert "晚于今天" in reasons[2]
    assert "不能早于开业日期" in reasons[3]
    assert "不能早于成立日期" in reasons[4]
    assert reasons[5] == "日期不存在"


def test_revocation_date_needs_the_status_column(session: Session) -> None:
    header = [*HEADER, "吊销日期"]
    report = refused(session, to_csv([entity_row(1, 吊销日期="2022-05-06")], header))
    assert report.errors[0].column == "吊销日期" and "登记状态" in report.errors[0].reason_zh
    assert count(session, Entity) == 0


def test_revoked_without_a_date_is_accepted_with_a_flag(session: Session) -> None:
    report = run(session, to_csv([dated(1, 登记状态="吊销")], DATES))
    assert report.ok and report.inserted == 1 and report.flagged_total == 1
    assert report.flagged[0].column == "吊销日期"
    assert "不会列为强制注销候选" in report.flagged[0].reason_zh
    # A file without the column says nothing about the date: no flag.
    report = run(session, to_csv([entity_row(2, 登记状态="吊销")], [*HEADER, "登记状态"]))
    assert report.ok and report.flagged_total == 0


def test_a_partial_file_cannot_contradict_stored_dates(session: Session) -> None:
    clock = FixedClock(NOW)
    run(session, to_csv([dated(1, 登记状态="吊销", 吊销日期="2022-05-06"), dated(2)], DATES))
    # Back in business without clearing the revocation date (the file has no such column).
    report = refused(
        session, to_csv([entity_row(1, 登记状态="存续")], [*HEADER, "登记状态"]), clock=clock
    )
    assert (report.errors[0].line, report.errors[0].column) == (2, "登记状态")
    assert "吊销日期" in report.errors[0].reason_zh
    assert "与库中已有信息合并后" in report.errors[0].reason_zh
    assert entity(session, code(1)).status == "revoked"
    # Established after the stored opening date.
    report = refused(session, to_csv([entity_row(2, 成立日期="2019-04-01")]), clock=clock)
    assert report.errors[0].line == 2 and "开业日期" in report.errors[0].reason_zh
    assert entity(session, code(2)).established_on == date(2019, 3, 1)
    # Clearing the date in the same file is fine.
    ok = run(session, to_csv([dated(1, 吊销日期="")], DATES), clock=clock)
    assert ok.updated == 1 and entity(session, code(1)).revoked_on is None


# ---- tax filings ------------------------------------------------------------------------------

TAX = ["统一社会信用代码", "年度", "是否申报", "申报日期"]


def tax(session: Session, data: bytes, **kwargs: Any) -> ImportReport:
    kwargs.setdefault("clock", FixedClock(NOW))
    return import_tax_filings(
        session, io.BytesIO(data), filename="tax.csv", actor="tester", **kwargs
    )


def tax_refused(session: Session, data: bytes) -> ImportReport:
    with pytest.raises(ImportFailed) as failed:
        tax(session, data)
    return failed.value.report


def filings(session: Session) -> dict[tuple[str, int], tuple[bool, date | None]]:
    rows = session.exec(select(TaxFiling)).all()
    return {(r.uscc, r.year): (r.filed, r.filed_on) for r in rows}


def tax_rows(*rows: tuple[Any, ...]) -> list[dict[str, str]]:
    return [dict(zip(TAX, (str(v) for v in row), strict=True)) for row in rows]


def test_tax_filings_import_and_upsert(session: Session) -> None:
    run(session, to_csv([entity_row(1), entity_row(2)]))
    report = tax(
        session,
        to_csv(
            tax_rows(
                (code(1), "2023", "是", "2024-05-20"),
                (code(1), "2024年度", "否", ""),
                (code(2), 2024, "", "2025/3/1"),  # a date says it was filed
                (code(2), 2023, "零申报", ""),
            ),
            TAX,
        ),
    )
    assert (report.kind, report.inserted, report.updated, report.unchanged) == (
        "tax_filings",
        4,
        0,
        0,
    )
    assert filings(session) == {
        (code(1), 2023): (True, date(2024, 5, 20)),
        (code(1), 2024): (False, None),
        (code(2), 2024): (True, date(2025, 3, 1)),
        (code(2), 2023): (True, None),
    }
    again = tax(session, to_csv(tax_rows((code(1), 2024, "已申报", "2025-04-30")), TAX))
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 0)
    same = tax(session, to_csv(tax_rows((code(1), 2024, "是", "2025-04-30")), TAX))
    assert (same.inserted, same.updated, same.unchanged) == (0, 0, 1)
    assert filings(session)[code(1), 2024] == (True, date(2025, 4, 30))
    actions = session.exec(select(AuditEntry.action)).all()
    assert actions.count("registry.import_tax_filings") == 3


def test_tax_filings_with_a_date_column_only_or_from_xlsx(session: Session) -> None:
    run(session, to_csv([entity_row(1)]))
    tax(
        session, to_csv(tax_rows((code(1), 2023, "", "")), ["统一社会信用代码", "年度", "申报日期"])
    )
    assert filings(session) == {(code(1), 2023): (False, None)}
    xlsx = to_xlsx([["纳税人识别号", "所属年度", "是否申报"], [code(1), 2024, "是"]])
    assert tax(session, xlsx).inserted == 1
    assert filings(session)[code(1), 2024] == (True, None)


def test_bad_tax_rows_refused_with_nothing_written(session: Session) -> None:
    run(session, to_csv([entity_row(1), entity_row(2, 成立日期="2024-02-01")]))
    report = tax_refused(
        session,
        to_csv(
            tax_rows(
                (code(1), 2023, "是", "2024-05-20"),  # good
                (code(9), 2023, "是", ""),  # not in the registry
                (code(1), 1989, "是", ""),  # year out of range
                (code(1), 2022, "否", "2023-04-01"),  # not filed, yet a date
                (code(1), 2021, "是", "2020-12-31"),  # filed before the year began
                (code(1), 2023, "否", ""),  # duplicate of line 2
                (code(2), 2023, "是", ""),  # before the entity was established
                (code(1), 2020, "也许", ""),  # unknown value
                ("91652301MA77XY1", 2020, "是", ""),  # malformed code
                (code(1), 2019, "是", "2025-06-02"),  # filed after today
            ),
            TAX,
        ),
    )
    assert count(session, TaxFiling) == 0
    assert [(e.line, e.column) for e in report.errors] == [
        (3, "统一社会信用代码"),
        (4, "年度"),
        (5, "申报日期"),
        (6, "申报日期"),
        (7, "统一社会信用代码"),
        (8, "年度"),
        (9, "是否申报"),
        (10, "统一社会信用代码"),
        (11, "申报日期"),
    ]
    reasons = [e.reason_zh for e in report.errors]
    assert "市场主体名录中没有" in reasons[0]
    assert "1990" in reasons[1]
    assert "为否" in reasons[2]
    assert "早于所属年度" in reasons[3]
    assert "与第2行重复" in reasons[4]
    assert "成立年度（2024）" in reasons[5]
    assert "晚于今天" in reasons[8]
    assert session.exec(select(AuditEntry).where(AuditEntry.action.like("%tax%"))).all() == []


def test_tax_file_needs_a_filing_column(session: Session) -> None:
    run(session, to_csv([entity_row(1)]))
    report = tax_refused(session, to_csv(tax_rows((code(1), 2023, "", "")), TAX[:2]))
    assert "是否申报" in report.errors[0].reason_zh and report.errors[0].line == 1
    report = tax_refused(
        session, to_csv(tax_rows((code(1), 2023, "", "")), ["统一社会信用代码", "年度", "是否申报"])
    )
    assert (report.errors[0].column, report.errors[0].reason_zh) == ("是否申报", "必填项为空")


def test_tax_filings_from_the_command_line(tmp_path: Path, monkeypatch) -> None:
    from supervision.cli import app
    from supervision.settings import get_settings

    runner = CliRunner()
    monkeypatch.setenv("SUPERVISION_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SUPERVISION_STORAGE_DIR", str(tmp_path / "files"))
    get_settings.cache_clear()
    try:
        assert runner.invoke(app, ["migrate"]).exit_code == 0
        entities = tmp_path / "entities.csv"
        entities.write_bytes(to_csv([entity_row(1)]))
        assert runner.invoke(app, ["import", "entities", str(entities)]).exit_code == 0
        good = tmp_path / "tax.csv"
        good.write_bytes(to_csv(tax_rows((code(1), 2023, "是", "2024-05-20")), TAX))
        r = runner.invoke(app, ["import", "tax-filings", str(good)])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["inserted"] == 1
        bad = tmp_path / "bad.csv"
        bad.write_bytes(to_csv(tax_rows((code(2), 2023, "是", "")), TAX))
        r = runner.invoke(app, ["import", "tax-filings", str(bad)])
        assert r.exit_code == 1 and "第2行" in r.output and "市场主体名录中没有" in r.output
    finally:
        get_settings.cache_clear()


# ---- the JSON API -----------------------------------------------------------------------------


def test_api_create_and_update_dates(client: TestClient, login, units, session) -> None:  # noqa: F811
    planner = login("planner")
    body = entity_body(opened_on="2015-06-20", ceased_trading_on="2026-03-01")
    r = client.post("/api/v1/entities", json=body, headers=planner)
    assert r.status_code == 201, r.text
    got = r.json()["entity"]
    assert (got["opened_on"], got["ceased_trading_on"], got["revoked_on"]) == (
        "2015-06-20",
        "2026-03-01",
        None,
    )
    url = f"/api/v1/entities/{GOOD}"
    # A revocation date needs the revoked status (in the same request, or stored).
    r = client.patch(url, json={"revoked_on": "2026-05-06"}, headers=planner)
    assert r.status_code == 400 and "不能有吊销日期" in r.json()["detail"]["zh"]
    r = client.patch(url, json={"status": "revoked", "revoked_on": "2026-05-06"}, headers=planner)
    assert r.status_code == 200 and r.json()["revoked_on"] == "2026-05-06"
    r = client.patch(url, json={"status": "active"}, headers=planner)
    assert r.status_code == 400 and "吊销日期" in r.json()["detail"]["zh"]
    r = client.patch(url, json={"status": "deregistered"}, headers=planner)
    assert r.status_code == 200 and r.json()["revoked_on"] == "2026-05-06"
    # Against the stored establishment, and today (2026-11-26).
    r = client.patch(url, json={"established_on": "2015-07-01"}, headers=planner)
    assert r.status_code == 400 and "开业日期" in r.json()["detail"]["zh"]
    r = client.patch(url, json={"opened_on": "2026-11-27"}, headers=planner)
    assert r.status_code == 400 and "晚于今天" in r.json()["detail"]["zh"]
    r = client.patch(url, json={"ceased_trading_on": None}, headers=planner)
    assert r.status_code == 200 and r.json()["ceased_trading_on"] is None
    stored = session.exec(select(Entity).where(Entity.uscc == GOOD)).one()
    assert (stored.status, stored.revoked_on, stored.opened_on) == (
        "deregistered",
        date(2026, 5, 6),
        date(2015, 6, 20),
    )


@pytest.mark.parametrize(
    ("over", "fragment"),
    [
        ({"opened_on": "2015-05-31"}, "不能早于成立日期"),
        ({"revoked_on": "2020-01-01"}, "不能有吊销日期"),
        ({"opened_on": "2016-01-01", "ceased_trading_on": "2015-12-31"}, "不能早于开业日期"),
    ],
)
def test_api_refuses_inconsistent_dates(
    client: TestClient,
    login,
    units,  # noqa: F811
    session,
    over: dict,
    fragment: str,
) -> None:
    r = client.post("/api/v1/entities", json=entity_body(**over), headers=login("planner"))
    assert r.status_code == 422 and fragment in r.text
    assert count(session, Entity) == 0


def test_api_revoked_without_date_warns(client: TestClient, login, units) -> None:  # noqa: F811
    r = client.post(
        "/api/v1/entities", json=entity_body(status="revoked"), headers=login("planner")
    )
    assert r.status_code == 201
    assert any("吊销日期" in w for w in r.json()["warnings"])
    r = client.post(
        "/api/v1/entities",
        json=entity_body(uscc=code(5), status="revoked", revoked_on="2026-11-27"),
        headers=login("planner"),
    )
    assert r.status_code == 400 and "晚于今天" in r.json()["detail"]["zh"]


def test_tax_filings_upload_through_the_api(client: TestClient, login, session: Session) -> None:
    run(session, to_csv([entity_row(1)]))
    session.commit()
    planner = login("planner")

    def upload(data: bytes, headers: dict[str, str]):
        files = {"file": ("tax.csv", data, "text/csv")}
        return client.post("/api/v1/import/tax-filings", files=files, headers=headers)

    good = to_csv(tax_rows((code(1), 2023, "是", "2024-05-20"), (code(1), 2024, "否", "")), TAX)
    bad = to_csv(tax_rows((code(1), 2022, "是", ""), (code(9), 2023, "是", "")), TAX)
    assert upload(good, login("reviewer")).status_code == 403
    assert upload(good, {}).status_code == 401
    r = upload(bad, planner)
    assert r.status_code == 400
    assert r.json()["detail"]["report"]["errors"][0]["line"] == 3
    assert count(session, TaxFiling) == 0  # one bad row: nothing written
    r = upload(good, planner)
    assert r.status_code == 200, r.text
    assert filings(session) == {
        (code(1), 2023): (True, date(2024, 5, 20)),
        (code(1), 2024): (False, None),
    }
