"""A national batch over shards: the coordinator's merge of ordered province streams writes
the very files one database writes, and refuses what one database's writer refuses."""

import hashlib
import random
import subprocess
import sys
from pathlib import Path

import pytest

from supervision.draw import sr1
from supervision.planning.freeze import _OutOfOrder, write_pool_files
from supervision.planning.shards import code_province, merged_pool, shard_of
from supervision.registry.uscc import make_uscc

ROOT = Path(__file__).resolve().parents[2]


def _salt(uscc: str) -> str:  # fixed per code, so two writes can be compared
    return hashlib.md5(uscc.encode()).hexdigest()


def _registry(n: int = 3000) -> list[tuple[str, str, str]]:
    rng = random.Random(5)
    rows = set()
    for k in range(n):
        province = rng.choice(["11", "44", "65", "54"])
        region = f"{province}{rng.randrange(1, 30):02d}01"
        uscc = make_uscc("9", rng.choice("123"), region, f"{k:08d}")
        rows.add((uscc, rng.choice("ABCD"), f"{province}0100-01"))
    return sorted(rows)


def _shards(rows: list[tuple[str, str, str]]) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = {}
    for row in rows:
        out.setdefault(code_province(row[0]), []).append(row)
    return out


def _files(records, directory: Path) -> tuple[str, str | None]:
    pool, paths = write_pool_files(records, directory, sealed=True, salt=_salt)
    return pool.sha256, pool.strata_sha256


def test_the_merged_shards_write_the_single_servers_files(tmp_path: Path) -> None:
    rows = _registry()
    shards = _shards(rows)
    assert len(shards) == 4
    # Province streams interleave in code order ("91…", "92…" of every province), so the
    # merge is needed: concatenating the shards would be out of order.
    assert list(merged_pool(shards.values())) == rows
    assert [r for s in sorted(shards) for r in shards[s]] != rows
    assert _files(iter(merged_pool(shards.values())), tmp_path / "m") == _files(
        iter(rows), tmp_path / "s"
    )


def test_a_code_on_two_shards_or_a_shard_out_of_order_is_refused(tmp_path: Path) -> None:
    rows = _registry(500)
    shards = _shards(rows)
    twice = dict(shards)
    twice["54"] = sorted([*shards["54"], shards["11"][3]])
    with pytest.raises(sr1.TsvError, match="duplicate"):
        _files(merged_pool(twice.values()), tmp_path / "d")
    unordered = dict(shards)
    unordered["44"] = list(reversed(shards["44"]))
    with pytest.raises(_OutOfOrder):
        _files(merged_pool(unordered.values()), tmp_path / "o")
    assert not list(tmp_path.rglob("*.tsv"))  # nothing half-written is left


def test_a_code_routes_to_its_province_unless_the_entity_moved() -> None:
    code = make_uscc("9", "1", "650102", "00000001")
    assert code_province(code) == "65" and shard_of(code, {}) == "65"
    assert shard_of(code, {code: "44"}) == "44"


def test_the_simulation_runs_and_finds_the_files_identical(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "simulate_nation.py"),
            "--entities",
            "3000",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "identical files: True" in done.stdout
    assert "found on the first shard asked" in done.stdout
