import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from supervision.audit.models import AuditEntry
from supervision.registry.models import Department, Industry, InspectionItem, Region, Unit
from supervision.registry.reference import (
    ReferenceDataError,
    load_qualifications,
    load_reference_data,
    load_result_codes,
    read_reference,
)

EXPECTED = {"regions": 25, "industries": 117, "departments": 3, "units": 15, "items": 18}


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_reference_data_loads_into_the_tables(session: Session, data_dir: Path) -> None:
    assert load_reference_data(session, data_dir) == EXPECTED
    for model, n in ((Region, 25), (Industry, 117), (Department, 3), (Unit, 15)):
        assert _count(session, model) == n
    assert _count(session, InspectionItem) == 18
    changji = session.get(Region, "652301")
    assert changji.name == "昌吉市" and changji.parent_code == "652300"
    townships = session.exec(select(Region).where(Region.parent_code == "652301")).all()
    assert len(townships) == 16
    assert sum(t.name.endswith("街道") for t in townships) == 6
    joint = session.get(InspectionItem, "SCJ-LH-001")
    assert joint.participating_departments == "WJW" and joint.qualification == "food"
    assert session.get(Unit, "652301-04").department_code == "SCJ"


def test_loading_twice_changes_nothing(session: Session, data_dir: Path) -> None:
    load_reference_data(session, data_dir, actor="tester")
    assert load_reference_data(session, data_dir, actor="tester") == EXPECTED
    assert _count(session, Region) == 25
    audits = session.exec(select(AuditEntry).where(AuditEntry.action == "reference.load")).all()
    assert len(audits) == 2
    assert '"changed":{"departments":0,"industries":0,"items":0,"regions":0,"units":0}' in (
        audits[-1].payload
    )


def test_a_changed_file_updates_rows(session: Session, data_dir: Path, tmp_path: Path) -> None:
    load_reference_data(session, data_dir)
    copy = shutil.copytree(data_dir, tmp_path / "data")
    items = copy / "items.yaml"
    items.write_text(items.read_text().replace("name: 价格行为检查", "name: 价格行为监督检查"))
    load_reference_data(session, copy)
    assert session.get(InspectionItem, "SCJ-JG-001").name == "价格行为监督检查"


def test_industries_follow_gb_t_4754_2017(data_dir: Path) -> None:
    industries = read_reference(data_dir).industries
    sections = [i.code for i in industries if i.level == "section"]
    divisions = {i.code: i for i in industries if i.level == "division"}
    assert sections == [chr(c) for c in range(ord("A"), ord("T") + 1)]
    assert sorted(divisions) == [f"{n:02d}" for n in range(1, 98)]
    assert divisions["04"].name == "渔业"
    assert divisions["05"].name == "农、林、牧、渔专业及辅助性活动"
    assert (divisions["62"].name, divisions["62"].parent_code) == ("餐饮业", "H")
    assert divisions["97"].parent_code == "T"


def test_every_township_has_one_station(data_dir: Path) -> None:
    ref = read_reference(data_dir)
    townships = {r.code for r in ref.regions if r.level == "township"}
    assert set(ref.station_of_township()) == townships


def test_result_codes_are_versioned(data_dir: Path) -> None:
    book = load_result_codes(data_dir)
    version = book.in_force(date(2018, 6, 1))
    assert version.effective_from == date(2017, 1, 1)
    codes = version.all_codes()
    # As the provincial record form has them: 2 违反工商行政管理相关规定 holds B, C, 6 and D.
    assert [c.code for c in codes["A"].sub_codes] == ["2", "3", "4", "5"]
    assert [c.code for c in codes["2"].sub_codes] == ["B", "C", "6", "D"]
    assert codes["2"].label == "违反工商行政管理相关规定"
    assert codes["D"].label == "违反其他工商行政管理规定行为"
    assert (codes["3"].label, codes["4"].label, codes["5"].label, codes["9"].label) == (
        "违反食品药品管理相关规定",
        "违反质量技术监督相关规定",
        "违反其他部门相关规定",
        "注销",
    )
    assert version.parent_of("6") == "2" and version.ancestors("6") == ["2", "A"]
    assert version.parent_of("E") is None and version.ancestors("3") == ["A"]
    assert version.problem_codes() == {"A", "2", "B", "C", "6", "D", "3", "4", "5", "E"}
    assert {e.code for e in codes["6"].evidence} == {
        "site_visit",
        "address_missing",
        "registered_letters",
    }
    assert not codes["1"].evidence
    assert {"1", "E", "F", "7", "8", "9", "10", "11", "12"} <= set(codes)
    with pytest.raises(LookupError):
        book.in_force(date(2016, 12, 31))


def test_a_jurisdiction_adds_its_own_codes(data_dir: Path, tmp_path: Path) -> None:
    """Local extra codes (e.g. G 违反公安部门相关规定) are a data file a jurisdiction adds."""
    shutil.copy(data_dir / "result_codes.yaml", tmp_path)
    local = tmp_path / "result_codes.local.yaml"
    local.write_text("- x\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError):
        load_result_codes(tmp_path)
    local.write_text(
        'codes:\n  - {version: "2017", parent: "A", code: "G", label: 违反公安部门相关规定,'
        " source: 省局关于抽查检查结果代码的通知}\n",
        encoding="utf-8",
    )
    version = load_result_codes(tmp_path).named("2017")
    assert [c.code for c in version.all_codes()["A"].sub_codes] == ["2", "3", "4", "5", "G"]
    assert "G" in version.problem_codes() and version.ancestors("G") == ["A"]
    for wrong, key in (('parent: "A"', "parent"), ('version: "2017"', "version")):
        text = local.read_text(encoding="utf-8")
        bad = text.replace(wrong, wrong.replace("A", "Q").replace("2017", "1999"))
        local.write_text(bad, encoding="utf-8")
        with pytest.raises(ReferenceDataError) as e:
            load_result_codes(tmp_path)
        assert key in e.value.key
        local.write_text(text, encoding="utf-8")
    # A code the national form has already is refused (codes are unique in a version).
    local.write_text(local.read_text(encoding="utf-8").replace('code: "G"', 'code: "B"'))
    with pytest.raises(ReferenceDataError):
        load_result_codes(tmp_path)


def test_qualifications_cover_the_items(data_dir: Path) -> None:
    quals = load_qualifications(data_dir)
    assert quals["special_equipment"].label == "特种设备安全"
    assert {i.qualification for i in read_reference(data_dir).items} - {None} <= set(quals)


@pytest.mark.parametrize(
    ("file", "old", "new", "key"),
    [
        ("items.yaml", "qualification: price", "qualification: pricing", "SCJ-JG-001"),
        ("items.yaml", "methods: online", "methods: telepathy", "items[11].methods"),
        (
            "items.yaml",
            "participating_departments: WJW",
            "participating_departments: XXX",
            "SCJ-LH",
        ),
        ("departments.yaml", 'townships: ["652301006"]', 'townships: ["652301999"]', "652301-05"),
        ("departments.yaml", 'badge_prefix: "02"', "badge_prefix: two", "badge_prefix"),
        (
            "regions.csv",
            "652301105,六工镇,township,652301",
            "652301105,六工镇,township,652399",
            "652301105",
        ),
        ("regions.csv", "652302,阜康市,county", "652302,阜康市,borough", "line 5 level"),
        ("industries.csv", "62,餐饮业,division,H", "62,餐饮业,division,Z", "62"),
        (
            "qualifications.yaml",
            "{code: food, label: 食品安全}",
            "{code: food, lable: 食品安全}",
            "food",
        ),
        (
            "result_codes.yaml",
            "effective_from: 2017-01-01",
            "effective_from: someday",
            "effective_from",
        ),
        ("items.yaml", "items:\n", "items: [\n", "YAML"),
    ],
)
def test_a_broken_file_names_the_file_and_key(
    data_dir: Path, tmp_path: Path, file: str, old: str, new: str, key: str
) -> None:
    copy = shutil.copytree(data_dir, tmp_path / "data")
    path = copy / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ReferenceDataError) as caught:
        load_result_codes(copy) if file == "result_codes.yaml" else read_reference(copy)
    assert caught.value.file == file
    assert key in caught.value.key
    assert file in str(caught.value)


def test_a_missing_file_is_named(data_dir: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(data_dir, tmp_path / "data")
    (copy / "departments.yaml").unlink()
    with pytest.raises(ReferenceDataError, match="departments.yaml"):
        read_reference(copy)
