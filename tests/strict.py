"""No silent pass: missing tools fail in CI, every skip is printed, CI allows only listed skips.

`CI=true` (set by `.ci/run`) turns a missing tool into a failure and fails the run on any skip
whose reason is not in ALLOWED_SKIPS. Hypothesis runs derandomised with more examples in CI
(profile "ci"), and with its default random seed elsewhere (profile "dev"); the header says
which.
"""

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

# Skips that are expected in CI: reason text (a prefix of the skip message) -> why it is fine.
ALLOWED_SKIPS = {
    "the plan is checked on SQLite": (
        "EXPLAIN QUERY PLAN is SQLite's; on PostgreSQL the planner picks by table statistics"
    ),
    "SQLite serialises writing transactions": (
        "BEGIN IMMEDIATE: the open-transactions race is run on PostgreSQL"
    ),
    "the registry is partitioned on PostgreSQL only": (
        "SQLite keeps one plain entity table; the partitions and their pruning are PostgreSQL's"
    ),
    "the name sample is PostgreSQL's": (
        "a common fragment is told by a sample of names on PostgreSQL (GIN bitmaps); SQLite's "
        "FTS5 pages stop early by themselves"
    ),
    "the driver's server-side cursor is PostgreSQL's": (
        "the pool query reads psycopg's cursor on PostgreSQL only; SQLite reads through SQLAlchemy"
    ),
}

settings.register_profile("ci", derandomize=True, max_examples=250, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if CI else "dev"))


def missing(what: str) -> None:
    """A test cannot run because `what` is missing: a failure in CI, a skip elsewhere."""
    if CI:
        pytest.fail(f"{what} (CI=true: a missing tool is a failure, not a skip)", pytrace=False)
    pytest.skip(what)


def need_tool(name: str, package: str | None = None) -> str:
    """The path of a command-line tool the test needs (see `missing`)."""
    found = shutil.which(name)
    if not found:
        missing(f"{name} is missing: install it with `apt-get install {package or name}`")
    return found


def need_file(path: Path, package: str) -> Path:
    if not path.exists():
        missing(f"{path} is missing: install it with `apt-get install {package}`")
    return path


_skips: list[tuple[str, str]] = []


def _mode_line() -> str:
    name = settings._current_profile  # noqa: SLF001
    profile = settings.get_profile(name)
    mode = (
        "derandomised (each test's seed is fixed by its own source)"
        if profile.derandomize
        else "random seed per run (a failure prints its reproduction blob)"
    )
    return f"CI={'true' if CI else 'false'}; hypothesis profile {name!r}: {mode}, " + (
        f"max_examples={profile.max_examples}"
    )


def pytest_runtest_logreport(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _, _, reason = report.longrepr if isinstance(report.longrepr, tuple) else ("", 0, "")
        _skips.append((report.nodeid, str(reason).removeprefix("Skipped: ")))


def unexpected_skips() -> list[tuple[str, str]]:
    return [(n, r) for n, r in _skips if not any(r.startswith(a) for a in ALLOWED_SKIPS)]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus) -> None:
    if CI and unexpected_skips() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    tr = terminalreporter
    tr.section(f"skips: {len(_skips)}")
    tr.write_line(_mode_line())
    for nodeid, reason in _skips:
        allowed = any(reason.startswith(a) for a in ALLOWED_SKIPS)
        tr.write_line(f"{'allowed' if allowed else 'SKIPPED'}  {nodeid}: {reason}")
    bad = unexpected_skips()
    if CI and bad:
        tr.write_line(
            f"CI=true: {len(bad)} skip(s) not in tests/strict.py ALLOWED_SKIPS — the run fails",
            red=True,
        )
