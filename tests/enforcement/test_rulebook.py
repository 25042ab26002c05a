"""The rulebook: both regimes and the local measures ship, dates decide, bad files are refused."""

import shutil
from datetime import date
from pathlib import Path

import pytest

from supervision.enforcement.restrictions import restrictions
from supervision.enforcement.rulebook import RulebookError, load_rulebook, rulebook
from tests.enforcement.conftest import listed


def test_regime_in_force_follows_the_date(book) -> None:
    assert [r.rulebook for r in book.regimes] == ["2014", "2021", "2024", "2025"]
    assert book.regime_on(date(2016, 3, 8)).rulebook == "2014"
    # 总局令第44号 replaced 83号 for the serious list on 2021-09-01.
    assert book.regime_on(date(2021, 8, 31)).rulebook == "2014"
    assert book.regime_on(date(2021, 9, 1)).rulebook == "2021"
    assert book.regime_on(date(2024, 5, 1)).rulebook == "2024"
    assert book.regime_on(date(2025, 7, 1)).rulebook == "2025"
    r2014, r2025 = book.regime_on(date(2016, 1, 1)), book.regime_on(date(2026, 1, 1))
    assert r2014.escalation.move_to_serious.reminder_days_before == 60
    assert r2014.escalation.revocation_candidate is None
    assert r2025.escalation.move_to_serious is None
    assert r2025.escalation.revocation_candidate.consecutive_missed_reports == 2
    assert r2014.reason_for_result("C") == "false_info" and r2025.reason_for_result("C") is None
    assert r2014.reason_for_result("6") == r2025.reason_for_result("6") == "unreachable"
    assert (r2014.individual_businesses, r2025.individual_businesses) == ("mark", "list")
    # Local measures come from their own file and date.
    assert "credit_certificate" not in book.measures_on(date(2017, 12, 31))
    assert book.measures_on(date(2018, 1, 1))["credit_certificate"].rulebook == (
        "local-changji-2018"
    )


def _copy(data_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    target.mkdir()
    shutil.copy(data_dir / "result_codes.yaml", target)
    shutil.copytree(data_dir / "rulebook", target / "rulebook")
    return target


@pytest.mark.parametrize(
    ("file", "old", "new", "key"),
    [
        (
            "2014.yaml",
            "list_within_working_days: 10",
            "list_within_working_days: ten",
            "abnormal_reasons[0].list_within_working_days (annual_report)",
        ),
        (
            "2025.yaml",
            '{result_code: "6", reason: unreachable}',
            '{result_code: "66", reason: unreachable}',
            "result_proposals[0].result_code (66)",
        ),
        ("2024.yaml", "binds: legal_rep", "binds: nobody", "measures[4].binds (legal_rep_bar)"),
        ("local-changji-2018.yaml", "kind: local", "kind: global", "kind"),
        ("2014.yaml", 'rulebook: "2014"', 'rulebook: "2014"\nsurprise: 1', "surprise"),
        ("2025.yaml", "escalation:", "escalation: [", "(YAML)"),
        ("2021.yaml", 'extends: "2014"', 'extends: "2013"', "extends"),
        (
            "2021.yaml",
            "decided_by: local_with_approval",
            "decided_by: nobody",
            "escalation.move_to_serious.decided_by",
        ),
        # A key the 2021 file inherits is checked there too (the 2014 file's own key).
        ("2014.yaml", "provincial_authority: 新疆维吾尔自治区市场监督管理局\n", "", "(root)"),
    ],
)
def test_malformed_rulebook_names_file_and_key(data_dir, tmp_path, file, old, new, key) -> None:
    data = _copy(data_dir, tmp_path)
    path = data / "rulebook" / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulebookError) as err:
        load_rulebook(data)
    assert err.value.file == f"rulebook/{file}"
    assert err.value.key == key
    assert f"rulebook/{file}" in err.value.zh and f"rulebook/{file}" in err.value.en
    assert err.value.zh.count("参考数据文件") == 1  # said once, not once per wrapping
    # Nothing of it is used: the cached accessor refuses as well (the service will not start).
    with pytest.raises(RulebookError):
        rulebook(data)


def test_escalation_reference_must_exist(data_dir, tmp_path) -> None:
    data = _copy(data_dir, tmp_path)
    path = data / "rulebook" / "2014.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "serious_reason: abnormal_3_years", "serious_reason: nowhere"
        ),
        encoding="utf-8",
    )
    with pytest.raises(RulebookError) as err:
        load_rulebook(data)
    assert err.value.file == "rulebook/2014.yaml" and "nowhere" in err.value.en


def test_an_extended_regime_extends_one_level_only(data_dir, tmp_path) -> None:
    """A regime written as changes to another names it; a chain would hide what differs."""
    data = _copy(data_dir, tmp_path)
    text = (data / "rulebook" / "2021.yaml").read_text(encoding="utf-8")
    (data / "rulebook" / "2022.yaml").write_text(
        text.replace('rulebook: "2021"', 'rulebook: "2022"')
        .replace('extends: "2014"', 'extends: "2021"')
        .replace("effective_from: 2021-09-01", "effective_from: 2022-01-01"),
        encoding="utf-8",
    )
    with pytest.raises(RulebookError) as err:
        load_rulebook(data)
    assert (err.value.file, err.value.key) == ("rulebook/2022.yaml", "extends")


def test_the_2021_regime_is_the_2014_one_but_for_its_own_keys(book) -> None:
    r2014, r2021 = book.regime("2014"), book.regime("2021")
    assert r2021.abnormal_reasons == r2014.abnormal_reasons and r2021.objection == r2014.objection
    assert r2021.measures == r2014.measures and r2021.zombie == r2014.zombie
    assert [r.years for r in r2021.serious_reasons] == [3, 3, 3]
    assert [r.years for r in r2014.serious_reasons] == [5, 5]
    assert r2014.escalation.move_to_serious.decided_by == "provincial"
    assert r2021.escalation.move_to_serious.decided_by == "local_with_approval"
    assert "总局令第44号" in r2021.source and "44号" not in r2014.source


def test_empty_rulebook_refused(tmp_path) -> None:
    with pytest.raises(RulebookError) as err:
        load_rulebook(tmp_path)
    assert err.value.file == "rulebook"


def test_a_local_file_adds_a_measure_without_code(data_dir, tmp_path, session, make_entity) -> None:
    data = _copy(data_dir, tmp_path)
    (data / "rulebook" / "local-test-2026.yaml").write_text(
        """rulebook: local-test-2026
kind: local
effective_from: 2026-01-01
source: 测试县联合惩戒措施
region_code: "652301"
measures:
  - code: subsidy
    label: 不予享受财政补贴
    legal_basis: 测试县失信联合惩戒办法（2026）
    lists: [abnormal]
    binds: entity
""",
        encoding="utf-8",
    )
    book = load_rulebook(data)
    uscc = make_entity("G0000001")
    listed(session, book, uscc, "2026-03-02", "2026-03-09")
    answer = restrictions(session, book, uscc, "subsidy", date(2026, 4, 1))
    assert answer.restricted and answer.measure_label == "不予享受财政补贴"
    earlier = restrictions(session, book, uscc, "subsidy", date(2025, 12, 31))
    assert earlier.in_force is False and not earlier.restricted


def test_app_and_cli_refuse_to_start_on_a_bad_rulebook(data_dir, tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from api.app import create_app
    from supervision.cli import app as cli
    from supervision.settings import Settings, get_settings

    data = _copy(data_dir, tmp_path)
    path = data / "rulebook" / "2014.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nsurprise: 1\n", encoding="utf-8")
    with pytest.raises(RulebookError):
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=data))
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(data))
    monkeypatch.setenv("SUPERVISION_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "rulebook/2014.yaml" in result.output


def test_zombie_periods_come_from_the_rulebook(book) -> None:
    r2014, r2025 = book.regime_on(date(2016, 1, 1)), book.regime_on(date(2026, 1, 1))
    for regime in (r2014, r2025):
        zombie = regime.zombie
        assert zombie.check_tax_returns is True
        assert (zombie.not_opened.months, zombie.ceased_trading.months) == (6, 6)
        assert zombie.not_opened.entity_types == ("enterprise",)
    assert "第二百一十一条" in r2014.zombie.not_opened.legal_basis
    assert "第二百六十条" in r2025.zombie.ceased_trading.legal_basis
    assert r2014.compulsory_deregistration is None
    assert r2025.compulsory_deregistration.revoked_years == 3


@pytest.mark.parametrize(
    ("file", "old", "new", "key"),
    [
        (
            "2024.yaml",
            "  not_opened:\n    months: 6",
            "  not_opened:\n    months: six",
            "zombie.not_opened.months",
        ),
        (
            "2025.yaml",
            "  ceased_trading:\n    months: 6",
            "  ceased_trading:\n    months: 0",
            "zombie.ceased_trading.months",
        ),
        (
            "2014.yaml",
            "    entity_types: [enterprise]",
            "    entity_types: [company]",
            "zombie.not_opened.entity_types[0]",
        ),
        (
            "2025.yaml",
            "  check_tax_returns: true",
            "  check_tax_returns: maybe",
            "zombie.check_tax_returns",
        ),
        (
            "2024.yaml",
            "  ceased_trading:\n    months: 6",
            "  ceased_trading:\n    month: 6",
            "zombie.ceased_trading.months",
        ),
        (
            "2025.yaml",
            "  revoked_years: 3",
            "  revoked_years: three",
            "compulsory_deregistration.revoked_years",
        ),
    ],
)
def test_malformed_zombie_rules_name_file_and_key(data_dir, tmp_path, file, old, new, key) -> None:
    data = _copy(data_dir, tmp_path)
    path = data / "rulebook" / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulebookError) as err:
        load_rulebook(data)
    assert (err.value.file, err.value.key) == (f"rulebook/{file}", key)
    assert f"rulebook/{file}" in err.value.zh and key in err.value.en


@pytest.mark.parametrize(
    ("file", "old", "key"),
    [
        (
            "2024.yaml",
            "    legal_basis: 《企业信息公示暂行条例》（2024年修订）第十八条\n",
            "abnormal_reasons[0].legal_basis (annual_report)",
        ),
        (
            "2014.yaml",
            "    legal_basis: 《企业信息公示暂行条例》（2014）第十七条第二款；《严重违法失信企业"
            "名单管理暂行办法》（原工商总局令第83号，2016年4月1日起施行）第五条\n",
            "escalation.move_to_serious.legal_basis",
        ),
    ],
)
def test_a_rule_without_its_source_is_refused(data_dir, tmp_path, file, old, key) -> None:
    """Every rule cites its law and article; a file that drops one does not load."""
    data = _copy(data_dir, tmp_path)
    path = data / "rulebook" / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, "", 1), encoding="utf-8")
    with pytest.raises(RulebookError) as err:
        load_rulebook(data)
    assert err.value.key == key


def test_listing_articles_follow_the_2024_regulation(book) -> None:
    """国务院令第777号 (2024) renumbered the 条例: listing is Art. 18, restrictions Art. 19
    (DOMAIN §10); no 2024+ rule may cite Art. 15 for a listing."""
    for name in ("2024", "2025"):
        regime = book.regime(name)
        by_regulation = [r for r in regime.abnormal_reasons if "暂行条例" in r.legal_basis]
        assert by_regulation and all("第十八条" in r.legal_basis for r in by_regulation)
        assert not any("（2024年修订）第十五条" in r.legal_basis for r in regime.abnormal_reasons)
        assert all("第十九条" in m.legal_basis for m in regime.measures)
        assert "第十八条" in regime.escalation.revocation_candidate.legal_basis


def test_the_2025_measures_never_apply_before_their_decision_and_stay_to_confirm(book) -> None:
    """总局令第101号 is a revision decision of 2025-03-18: nothing of it is in force before."""
    assert book.regime_on(date(2025, 3, 17)).rulebook == "2024"
    assert book.regime("2025").effective_from >= date(2025, 3, 18)
    marks = {(name, key) for name, key, _ in book.to_confirm()}
    assert ("2025", "effective_from") in marks


def test_every_to_confirm_is_reported_at_start_up(
    data_dir, tmp_path, monkeypatch, caplog, capsys
) -> None:
    from api.app import create_app
    from supervision.settings import Settings, get_settings

    with caplog.at_level("WARNING", logger="supervision"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=data_dir))
    marks = load_rulebook(data_dir).to_confirm()
    assert marks and all(
        any(key in r.getMessage() and name in r.getMessage() for r in caplog.records)
        for name, key, _ in marks
    )
    # The long-running CLI commands (serve, scheduler) print them before starting.
    from supervision.cli import _check_rulebook

    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    try:
        _check_rulebook()
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert all(f"{name} · {key}" in err for name, key, _ in marks)


def test_the_staff_dashboard_shows_what_is_to_confirm(client, login) -> None:
    page = client.get("/staff", headers=login("reviewer")).text
    assert "规则库中有" in page and "effective_from" in page and "总局令第101号" in page
