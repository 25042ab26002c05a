"""The dependency lock and its audit: every package pinned with the hash of its file (and
`make` installs with --require-hashes), every declared dependency in the lock, and `make
audit` saying plainly when the vulnerability database cannot be reached."""

import os
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^([A-Za-z0-9._-]+)==([^\s]+)( --hash=sha256:[0-9a-f]{64})+$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_locked_package_is_pinned_with_a_hash_and_every_dependency_is_locked() -> None:
    lines = [
        line
        for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    bad = [line for line in lines if not LINE.match(line)]
    assert not bad, bad
    locked = {_norm(LINE.match(line).group(1)) for line in lines}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"]) + [
        d for extra in project["optional-dependencies"].values() for d in extra
    ]
    names = {_norm(re.split(r"[\s\[<>=;!~]", d, maxsplit=1)[0]) for d in declared}
    assert names - locked == set()
    assert "--require-hashes" in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_audit_says_plainly_when_the_vulnerability_database_cannot_be_reached(tmp_path) -> None:
    fake = tmp_path / "pip-audit"
    fake.write_text(
        "#!/bin/sh\necho \"requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev')\" >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    r = subprocess.run(
        ["bash", str(ROOT / "scripts" / "audit.sh")],
        cwd=ROOT,
        env={**os.environ, "BIN": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert r.returncode == 3
    assert "NOTHING WAS CHECKED" in r.stderr and "无法访问" in r.stderr


def test_audit_passes_on_findings_and_on_a_clean_result(tmp_path) -> None:
    fake = tmp_path / "pip-audit"
    fake.write_text(
        "#!/bin/sh\necho 'Name Version ID Fix Versions'\necho 'jinja2 3.1.0 GHSA-x 3.1.5'\nexit 1\n"
    )
    fake.chmod(0o755)
    env = {**os.environ, "BIN": str(tmp_path)}
    script = str(ROOT / "scripts" / "audit.sh")
    r = subprocess.run(["bash", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "GHSA-x" in r.stdout
    fake.write_text("#!/bin/sh\necho 'No known vulnerabilities found'\nexit 0\n")
    r = subprocess.run(["bash", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "未发现已知漏洞" in r.stdout
