import csv
import shutil
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from supervision.audit.service import verify_chain
from supervision.clock import FixedClock
from supervision.demo.generator import (
    build_demo_city,
    demo_conflicts,
    load_city,
    write_entities_csv,
    write_inspectors_csv,
)
from supervision.registry.columns import ENTITY_COLUMNS, INSPECTOR_COLUMNS
from supervision.registry.models import ConflictDeclaration, Entity, Inspector
from supervision.registry.reference import ReferenceDataError, read_reference
from supervision.registry.uscc import validate_uscc

TODAY = date(2019, 7, 15)
ROWS = 2_000
ORG_TYPE = {"企业": "1", "个体工商户": "2", "农民专业合作社": "3"}


def _first_chinese(columns: dict[str, tuple[str, ...]]) -> list[str]:
    return [
        next(h for h in headers if any(ord(c) > 127 for c in h)) for headers in columns.values()
    ]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _id_number_ok(number: str) -> bool:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(number[:17], weights, strict=True))
    return len(number) == 18 and number[:17].isdigit() and "10X98765432"[total % 11] == number[17]


@pytest.fixture(scope="module")
def entities_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "entities.csv"
    write_entities_csv(path, entities=ROWS, seed=2018, today=TODAY)
    return path


@pytest.fixture(scope="module")
def entities(entities_csv: Path) -> list[dict[str, str]]:
    return _read(entities_csv)


def test_entities_file_looks_like_an_export(entities_csv: Path) -> None:
    raw = entities_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.split(b"\r\n")
    assert len(lines) == ROWS + 2 and lines[-1] == b""
    assert b"\n" not in raw.replace(b"\r\n", b"")
    header = lines[0][3:].decode().split(",")
    assert header == _first_chinese(ENTITY_COLUMNS)


def test_credit_codes_are_valid_unique_and_match_the_type(
    entities: list[dict[str, str]],
) -> None:
    codes = [row["统一社会信用代码"] for row in entities]
    assert len(set(codes)) == ROWS
    for row, code in zip(entities, codes, strict=True):
        assert validate_uscc(code).check_ok, code
        assert code[0] == "9" and code[1] == ORG_TYPE[row["主体类型"]]
        assert code[2:8] in {"652301", "652300", "650000"}
        if row["主体类型"] != "企业":
            assert code[2:8] == "652301"


def test_people_have_valid_identity_numbers_and_phones(entities: list[dict[str, str]]) -> None:
    for row in entities:
        number = row["法定代表人证件号码"]
        assert _id_number_ok(number), number
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        age = (date.fromisoformat(row["成立日期"]) - born).days / 365.25
        assert 19.9 < age < 60.1
        phone = row["联系电话"]
        assert len(phone) == 11 and phone.isdigit() and phone[0] == "1"


def test_entities_sit_in_townships_their_station_covers(
    entities: list[dict[str, str]], data_dir: Path
) -> None:
    stations = read_reference(data_dir).station_of_township()
    divisions = {i.code for i in read_reference(data_dir).industries if i.level == "division"}
    for row in entities:
        assert stations[row["行政区划代码"]] == row["管辖单位代码"]
        assert row["行业代码"] in divisions
        assert row["住所"].startswith("新疆昌吉州昌吉市")
        assert row["企业名称"].startswith(("昌吉市", "昌吉州", "新疆"))
        assert date(1995, 1, 1) <= date.fromisoformat(row["成立日期"]) <= TODAY
    cooperatives = [r for r in entities if r["主体类型"] == "农民专业合作社"]
    assert all(r["企业名称"].endswith("农民专业合作社") for r in cooperatives)
    assert all(r["行政区划代码"][6] != "0" for r in cooperatives)  # towns, not sub-districts
    enterprises = [r for r in entities if r["主体类型"] == "企业"]
    assert all(r["企业名称"].endswith("公司") for r in enterprises)


def test_proportions_follow_the_city_file(entities: list[dict[str, str]]) -> None:
    city, _ = load_city()

    def shares(column: str) -> dict[str, float]:
        counts = Counter(row[column] for row in entities)
        return {k: n / ROWS for k, n in counts.items()}

    def expected(weights: dict) -> dict[str, float]:
        total = sum(weights.values())
        return {k: w / total for k, w in weights.items()}

    labels = {"enterprise": "企业", "individual": "个体工商户", "cooperative": "农民专业合作社"}
    for kind, share in expected(city.entity_types).items():
        assert shares("主体类型").get(labels[kind], 0) == pytest.approx(share, abs=0.04)
    for risk, share in expected(city.risk_classes).items():
        assert shares("信用风险分类").get(risk, 0) == pytest.approx(share, abs=0.04)
    assert shares("登记状态")["存续"] == pytest.approx(expected(city.statuses)["active"], abs=0.03)


def test_most_entities_filed_their_annual_reports(entities: list[dict[str, str]]) -> None:
    # Reports for 2018 were due by 30 June 2019; entities older than 2017 owe 2013/est.–2018.
    older = [r for r in entities if r["成立日期"] < "2017-01-01"]
    last = Counter(
        int(r["已报年报年度"].split(",")[-1]) if r["已报年报年度"] else None for r in older
    )
    up_to_date = last[2018] / len(older)
    assert 0.75 < up_to_date < 0.92
    assert 0.05 < last[2017] / len(older) < 0.15  # missing the last year
    assert 0.02 < (last[2016] + last[2015]) / len(older) < 0.12  # two or more: zombie candidates
    for row in older:
        years = [int(y) for y in row["已报年报年度"].split(",") if y]
        start = max(2013, int(row["成立日期"][:4]))
        assert years == list(range(start, start + len(years)))
    revoked = [r for r in older if r["登记状态"] == "吊销"]
    assert revoked and all(not r["已报年报年度"].endswith(("2018", "2017")) for r in revoked)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    paths = [tmp_path / f"{n}.csv" for n in range(3)]
    for path, seed in zip(paths, (7, 7, 8), strict=True):
        write_entities_csv(path, entities=300, seed=seed, today=TODAY)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    inspectors = [tmp_path / f"i{n}.csv" for n in range(3)]
    for path, seed in zip(inspectors, (7, 7, 8), strict=True):
        write_inspectors_csv(path, seed=seed, today=TODAY)
    assert inspectors[0].read_bytes() == inspectors[1].read_bytes()
    assert inspectors[0].read_bytes() != inspectors[2].read_bytes()


def test_inspectors_roster(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "inspectors.csv"
    write_inspectors_csv(path, seed=2018, today=TODAY)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in path.read_bytes()
    rows = _read(path)
    assert list(rows[0]) == _first_chinese(INSPECTOR_COLUMNS)
    assert len(rows) == 110
    badges = [r["执法证号"] for r in rows]
    assert len(set(badges)) == 110 and all(len(b) == 11 and b.isdigit() for b in badges)
    assert Counter(r["部门代码"] for r in rows) == {"SCJ": 90, "WJW": 13, "YJJ": 7}
    ref = read_reference(data_dir)
    unit_department = {u.code: d.code for d, u in ref.units}
    for row in rows:
        assert unit_department[row["单位代码"]] == row["部门代码"]
        quals = row["执法资格"].split(",")
        assert quals and set(quals) <= set(ref.qualifications)
        if row["部门代码"] == "WJW":
            assert set(quals) <= {"public_health", "food"}
    stations = Counter(r["单位代码"] for r in rows if unit_department[r["单位代码"]] == "SCJ")
    assert all(stations[f"652301-{n:02d}"] >= 2 for n in range(1, 10))
    assert 0 < sum(r["专家"] == "是" for r in rows) < 15
    assert 0 < sum(r["在岗"] == "否" for r in rows) < 15
    assert all(date.fromisoformat(r["证件有效期至"]) for r in rows)


def test_a_broken_city_file_names_the_key(data_dir: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(data_dir, tmp_path / "data")
    city = copy / "demo" / "city.yaml"
    city.write_text(city.read_text().replace('"652301106": {weight: 2', '"652301999": {weight: 2'))
    with pytest.raises(ReferenceDataError) as caught:
        write_entities_csv(tmp_path / "e.csv", entities=10, seed=1, today=TODAY, data_dir=copy)
    assert caught.value.file == "demo/city.yaml" and "652301999" in caught.value.key


def test_build_demo_city_through_the_importer(
    session: Session, data_dir: Path, tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2019, 7, 15, 2, 0, tzinfo=UTC))
    counts = build_demo_city(
        session, data_dir, tmp_path, entities=400, inspectors=40, seed=2018, clock=clock
    )
    assert counts["entities"] == 400 and counts["inspectors"] == 40
    assert counts["units"] == 15 and counts["annual_reports"] > 400
    assert counts["conflicts"] == 36
    conflicts = session.exec(select(ConflictDeclaration)).all()
    assert len({(c.inspector_id, c.entity_id) for c in conflicts}) == 36
    for conflict in conflicts:
        inspector = session.get(Inspector, conflict.inspector_id)
        entity = session.get(Entity, conflict.entity_id)
        assert inspector and entity and conflict.reason
        if inspector.unit_code.startswith("652301-0"):
            assert entity.supervising_unit == inspector.unit_code
    flagged = session.exec(select(func.count()).where(Entity.uscc_check_ok.is_(False))).one()
    assert flagged == 0
    assert demo_conflicts(session, count=36, seed=2018, clock=clock) == 0
    assert verify_chain(session).ok


def test_demo_batches_show_a_verifiable_draw(session, clock, tmp_path, data_dir) -> None:
    from supervision.demo.batches import build_demo_batches
    from supervision.demo.generator import build_demo_city
    from supervision.draw.verify import verify_bundle
    from supervision.planning import bundle, service

    build_demo_city(
        session, data_dir, tmp_path, entities=3000, inspectors=110, seed=2018, clock=clock
    )
    out = build_demo_batches(session, clock=clock, storage=tmp_path / "files")
    files = bundle.export_bundle(session, out["drawn"], storage=tmp_path / "files")
    assert verify_bundle(files.bundle, files.pool, files.roster, None).ok
    assert service.get_batch(session, out["awaiting_ceremony"]).state == "frozen"
    assert build_demo_batches(session, clock=clock, storage=tmp_path) == {"plan": out["plan"]}
