"""The command line as a user runs it: replay a vector, verify, import with errors."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supervision.cli import app
from supervision.settings import get_settings
from tests.draw.test_sr1_vectors import ALL_CASES

VECTORS = Path(__file__).resolve().parent / "draw" / "vectors"
runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SUPERVISION_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SUPERVISION_STORAGE_DIR", str(tmp_path / "files"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize("case", ALL_CASES)
def test_replay_and_verify(case: str, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    r = runner.invoke(app, ["batch", "replay", str(VECTORS / case / "input"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    got = json.loads((out / "bundle.json").read_text(encoding="utf-8"))
    got.pop("meta")
    expected = json.loads((VECTORS / case / "expected" / "bundle.json").read_text(encoding="utf-8"))
    assert got == expected
    strata = VECTORS / case / "expected" / "strata.tsv"
    if strata.exists():  # sr2: the replay writes the auditor's copy
        assert (out / "strata.tsv").read_bytes() == strata.read_bytes()
    r = runner.invoke(app, ["verify", str(out)])
    assert r.exit_code == 0 and "VERIFIED" in r.output
    bundle = json.loads((out / "bundle.json").read_text(encoding="utf-8"))
    bundle["entropy"][0] += " "
    (out / "bundle.json").write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(app, ["verify", str(out)])
    assert r.exit_code == 1 and "seed" in r.output


def test_import_failure_names_the_row_and_writes_nothing(cli_env: Path) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    bad = cli_env / "bad.csv"
    bad.write_text(
        "统一社会信用代码,企业名称,主体类型,法定代表人,住所,行政区划代码,行业代码,登记机关,管辖单位代码,成立日期\n"
        "91652301MA77XY121U,甲公司,企业,王五,昌吉市,652301,F52,昌吉市局,652301-01,2019-03-01\n"
        "91652301MA77XY1,乙公司,企业,王五,昌吉市,652301,F52,昌吉市局,652301-01,2019-03-01\n",
        encoding="utf-8",
    )
    r = runner.invoke(app, ["import", "entities", str(bad)])
    assert r.exit_code == 1
    assert "第3行" in r.output and "统一社会信用代码" in r.output
    r = runner.invoke(app, ["audit", "verify"])
    assert r.exit_code == 0 and "共0条" in r.output  # nothing was written, not even an audit row


def test_user_add_rejects_short_password(cli_env: Path) -> None:
    runner.invoke(app, ["migrate"])
    r = runner.invoke(
        app, ["user", "add", "zhang", "--role", "planner", "--name", "张敏", "--password", "short"]
    )
    assert r.exit_code == 2 and "password" in r.output
    r = runner.invoke(
        app,
        [
            "user",
            "add",
            "zhang",
            "--role",
            "planner",
            "--name",
            "张敏",
            "--password",
            "long-enough-pass",
        ],
    )
    assert r.exit_code == 0, r.output


def test_open_data_and_search_from_the_command_line(cli_env: Path) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    out = cli_env / "batches.csv"
    r = runner.invoke(app, ["open-data", "batches", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith("\ufeffcode,name,plan_code".encode())
    r = runner.invoke(
        app,
        [
            "open-data",
            "results",
            "--out",
            str(cli_env / "r.json"),
            "--format",
            "json",
            "--year",
            "2026",
        ],
    )
    assert r.exit_code == 0 and json.loads((cli_env / "r.json").read_text()) == []
    r = runner.invoke(app, ["open-data", "secrets", "--out", str(out)])
    assert r.exit_code == 2 and "unknown dataset" in r.output
    r = runner.invoke(app, ["search", "天山"])
    assert r.exit_code == 0 and "0 条" in r.output


def test_batch_and_template_specs_are_checked_before_anything_is_written(cli_env: Path) -> None:
    from tests.factories import batch_body

    assert runner.invoke(app, ["migrate"]).exit_code == 0
    r = runner.invoke(app, ["plan", "create", "CJ-2026", "2026", "2026年度计划", "--publish"])
    assert r.exit_code == 0, r.output
    body = batch_body()
    del body["ceremony_at"]  # the one new required field
    spec = cli_env / "batch.json"
    spec.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(app, ["batch", "create", "CJ-2026", str(spec)])
    assert r.exit_code == 2 and "ceremony_at" in r.output and "内容无效" in r.output
    r = runner.invoke(app, ["batch", "create", "CJ-2026", str(cli_env / "missing.json")])
    assert r.exit_code == 2 and "无法读取" in r.output
    batch = batch_body()
    for key in ("code", "name", "window_start", "window_end", "ceremony_at"):
        del batch[key]
    template = {"code_prefix": "CJ-Q-", "name": "季度抽查", "batch": batch}
    spec.write_text(json.dumps(template, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(app, ["plan", "template", "NOPE", str(spec)])
    assert r.exit_code == 1 and "NOPE" in r.output
    # The registry is empty here: its department does not exist, and nothing is kept.
    r = runner.invoke(app, ["plan", "template", "CJ-2026", str(spec)])
    assert r.exit_code == 1 and "部门“SCJ”不存在" in r.output
    template["batch"]["code"] = "X"
    spec.write_text(json.dumps(template, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(app, ["plan", "template", "CJ-2026", str(spec)])
    assert r.exit_code == 2 and "每期自动填写" in r.output


def test_serve_runs_the_embedded_scheduler(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` (what `make run` starts) turns the embedded scheduler on for the app it serves —
    the settings it reads first are read again with the switch set."""
    import uvicorn

    seen = {}

    def fake_run(app_path, **kwargs):
        seen["embedded"] = get_settings().embedded_scheduler

    monkeypatch.delenv("SUPERVISION_EMBEDDED_SCHEDULER", raising=False)
    monkeypatch.setattr(uvicorn, "run", fake_run)
    get_settings()  # cached before the command, as the rulebook check does
    try:
        r = runner.invoke(app, ["serve", "--port", "8799"])
    finally:
        # `serve` sets the switch in this process's environment: take it out again, or every
        # later test app would start a scheduler.
        os.environ.pop("SUPERVISION_EMBEDDED_SCHEDULER", None)
        get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    assert seen == {"embedded": True}


def test_demo_year_refuses_bad_dates_and_a_registry_already_there(cli_env: Path) -> None:
    r = runner.invoke(app, ["demo", "--year", "2025", "--until", "2025-13-01", "--entities", "200"])
    assert r.exit_code == 2 and "not a date" in r.output
    r = runner.invoke(app, ["demo", "--year", "2025", "--until", "2024-12-31", "--entities", "200"])
    assert r.exit_code == 2 and "must lie in 2025" in r.output
    r = runner.invoke(app, ["demo", "--year", "2099", "--entities", "200"])
    assert r.exit_code == 2 and "not after today" in r.output
    r = runner.invoke(app, ["demo", "--year", "1999"])
    assert r.exit_code == 2  # before the product's years (typer's own range check)
    # Nothing was lived: the registry is still empty, so the city of today loads; after it a
    # year would mix two histories and is refused, while --if-empty skips quietly.
    assert runner.invoke(app, ["demo", "--entities", "300", "--inspectors", "20"]).exit_code == 0
    r = runner.invoke(app, ["demo", "--year", "2025", "--entities", "300"])
    assert r.exit_code == 1 and "empty database" in r.output
    r = runner.invoke(app, ["demo", "--year", "2025", "--if-empty"])
    assert r.exit_code == 0 and "skipped" in r.output
