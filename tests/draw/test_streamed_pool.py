"""A pool read a block of lines at a time (`sr1.PoolFile`, how ten million entities are drawn
and verified) gives the very bundles the whole-file draw gives, and names bad lines by their
number in the whole file. Blocks are shrunk to three lines so that every vector crosses many
block borders."""

import json
from pathlib import Path
from typing import Any

import pytest

from supervision.draw import sr1
from supervision.draw.verify import verify_bundle, verify_bundle_dir

VECTORS = Path(__file__).parent / "vectors"
CASES = sorted(p.name for p in VECTORS.iterdir() if (p / "input").is_dir())


@pytest.fixture(autouse=True)
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sr1, "BLOCK_LINES", 3)


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _inputs(case: str) -> dict[str, Any]:
    folder = VECTORS / case / "input"
    strata = folder / "strata.tsv"
    return {
        "pool": (folder / "pool.tsv").read_bytes(),
        "roster": (folder / "roster.tsv").read_bytes(),
        "conflicts": (folder / "conflicts.tsv").read_bytes(),
        "strata": strata.read_bytes() if strata.exists() else None,
        "base": _json(folder / "params.json"),
        "entropy": _json(folder / "entropy.json"),
        "events": _json(folder / "events.json") if (folder / "events.json").exists() else [],
    }


@pytest.mark.parametrize("case", CASES)
def test_a_streamed_pool_draws_the_expected_bundle(case: str) -> None:
    given = _inputs(case)
    sealed = given["base"]["protocol"] == sr1.SEALED
    pool = sr1.PoolFile.of_bytes(given["pool"], given["strata"], sealed=sealed)
    assert pool.sha256 == sr1.digest_bytes(given["pool"])
    assert len(pool) == given["pool"].count(b"\n")
    params = sr1.build_params(
        given["base"], given["pool"], given["roster"], given["conflicts"], given["strata"]
    )
    draw = sr1.Draw(
        params,
        given["entropy"],
        pool,
        sr1.parse_roster(given["roster"]),
        sr1.conflicts_by_entity(sr1.parse_conflicts(given["conflicts"])),
    )
    for event in given["events"]:
        draw.apply_event(event)
    expected = _json(VECTORS / case / "expected" / "bundle.json")
    assert sr1.canonical_json(draw.to_bundle(expected.get("meta"))) == sr1.canonical_json(expected)


@pytest.mark.parametrize("copy", ["expected", "public"])
def test_the_verifier_reads_the_files_a_block_at_a_time(copy: str) -> None:
    folder = VECTORS / "05-sealed-strata" / copy
    result = verify_bundle_dir(folder)
    assert result.ok, result.first_difference
    # The same from bytes (the whole-file path) and from paths.
    bundle = _json(folder / "bundle.json")
    strata, conflicts = folder / "strata.tsv", folder / "conflicts.tsv"
    from_bytes = verify_bundle(
        bundle,
        (folder / "pool.tsv").read_bytes(),
        (folder / "roster.tsv").read_bytes(),
        conflicts.read_bytes() if conflicts.exists() else None,
        strata.read_bytes() if strata.exists() else None,
    )
    assert from_bytes.ok and from_bytes.details == result.details
    assert bool(result.unchecked) == (copy == "public")


def _pool(n: int) -> list[str]:
    return [f"91652301MA{k:08d}\tA\t652301-01\n" for k in range(n)]


@pytest.mark.parametrize(
    ("lines", "line", "reason"),
    [
        # A key repeated across the border of the first and second blocks.
        (lambda p: p[:3] + [p[2]] + p[4:], 4, "duplicate USCC '91652301MA00000002'"),
        (lambda p: p[:3] + [p[1]] + p[4:], 4, "not sorted: USCC '91652301MA00000001'"),
        (lambda p: p[:4] + [p[4].replace("\n", "\r\n")] + p[5:], 5, "carriage return"),
        (lambda p: p[:7] + [p[7].replace("\tA\t", "\t\t")], 8, "STRATUM is empty"),
        (lambda p: p[:6] + [p[6].replace("\t652301-01", "")] + p[7:], 7, "expected 3 fields"),
        (lambda p: p[:7] + [p[7].rstrip("\n")], 8, "does not end with LF"),
    ],
)
def test_a_bad_line_is_named_by_its_number_in_the_whole_file(
    lines: Any, line: int, reason: str
) -> None:
    data = "".join(lines(_pool(8))).encode()
    with pytest.raises(sr1.TsvError) as caught:
        sr1.PoolFile.of_bytes(data)
    assert caught.value.line == line and reason in caught.value.reason
    # The whole-file parser names the same line.
    with pytest.raises(sr1.TsvError) as whole:
        sr1.parse_pool(data)
    assert whole.value.line == line


def _sealed(n: int) -> tuple[bytes, bytes]:
    usccs = [f"91652301MA{k:08d}" for k in range(n)]
    strata = ["A" if k % 2 else "B" for k in range(n)]
    salts = [f"{k:032x}" for k in range(n)]
    tags = sr1.tags(usccs, strata, salts)
    pool = "".join(f"{u}\t{t}\t652301-01\n" for u, t in zip(usccs, tags, strict=True))
    private = "".join(f"{u}\t{s}\t{a}\n" for u, s, a in zip(usccs, strata, salts, strict=True))
    return pool.encode(), private.encode()


def test_strata_are_checked_block_by_block() -> None:
    pool, strata = _sealed(10)
    checked = sr1.PoolFile.of_bytes(pool, strata, sealed=True)
    assert checked.sizes() == {"A": 5, "B": 5} and checked.has_strata
    lines = strata.decode().splitlines(keepends=True)
    # A changed stratum in the third block: the tag of that line no longer matches.
    changed = lines[:7] + [lines[7].replace("\tA\t", "\tB\t")] + lines[8:]
    with pytest.raises(sr1.TsvError) as caught:
        sr1.PoolFile.of_bytes(pool, "".join(changed).encode(), sealed=True)
    assert caught.value.file == "pool.tsv" and caught.value.line == 8
    bad_salt = lines[:4] + [lines[4][:-5] + "XYZW\n"] + lines[5:]
    with pytest.raises(sr1.TsvError) as caught:
        sr1.PoolFile.of_bytes(pool, "".join(bad_salt).encode(), sealed=True)
    assert caught.value.file == "strata.tsv" and caught.value.line == 5
    with pytest.raises(sr1.TsvError, match="same order"):
        sr1.PoolFile.of_bytes(pool, "".join(lines[:-4]).encode(), sealed=True)
    with pytest.raises(sr1.Sr1Error, match="belongs to protocol sr2"):
        sr1.PoolFile.of_bytes(pool, strata)


def test_replacements_past_the_head_rank_a_longer_prefix_not_the_whole_stratum() -> None:
    n = 3000
    usccs = [f"91652301MA{k:08d}" for k in range(n)]
    pool = "".join(f"{u}\tA\t652301-{k % 3 + 1:02d}\n" for k, u in enumerate(usccs)).encode()
    roster = sr1.encode_roster(
        [(f"652301{k:05d}", "SCJ", f"652301-{k % 3 + 1:02d}", ()) for k in range(6)]
    )
    base = {
        "protocol": "sr1",
        "batch": "P-1",
        "quotas": {"A": 3},
        "team": [{"group": "SCJ", "count": 1, "qualification": None}],
        "cross_unit": True,
        "max_load": None,
        "entropy_plan": "",
    }
    params = sr1.build_params(base, pool, roster, b"")
    streamed = sr1.Draw(params, ["7"], sr1.PoolFile.of_bytes(pool), sr1.parse_roster(roster), {})
    whole = sr1.Draw(params, ["7"], sr1.parse_pool(pool), sr1.parse_roster(roster), {})
    for draw in (streamed, whole):
        for seq in range(1, 101):
            newest = draw.final()[-1]["uscc"]
            draw.apply_event(
                {"seq": seq, "type": "replace_entity", "uscc": newest, "reason": "注销"}
            )
        assert len(draw._strata["A"].ranked) < n // 4
    assert sr1.canonical_json(streamed.to_bundle()) == sr1.canonical_json(whole.to_bundle())


def test_a_pool_read_for_the_other_protocol_is_refused() -> None:
    given = _inputs("05-sealed-strata")
    params = sr1.build_params(
        given["base"], given["pool"], given["roster"], given["conflicts"], given["strata"]
    )
    unsealed_reading = sr1.PoolFile.of_bytes(given["pool"])  # tags taken for strata
    with pytest.raises(sr1.Sr1Error, match="other protocol"):
        sr1.Draw(
            params,
            given["entropy"],
            unsealed_reading,
            sr1.parse_roster(given["roster"]),
            {},
            selection=["x"],
        )
