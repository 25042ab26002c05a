"""The freeze writes pool.tsv and strata.tsv a block at a time, straight from the database's
rows: the files are those the whole-file encoders write, checked as written, and nothing is
left behind when a freeze is refused."""

from pathlib import Path

import pytest
from sqlmodel import func, select

from supervision.draw import sr1
from supervision.planning import freeze
from supervision.planning.models import Draw
from supervision.storage.service import stored_path
from tests.factories import DICE, batch_body, create_and_freeze


@pytest.fixture(autouse=True)
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sr1, "BLOCK_LINES", 4)


def _records(n: int) -> list[tuple[str, str, str]]:
    return [(f"91652301MA{k:08d}", "AB"[k % 2], f"652301-0{k % 3 + 1}") for k in range(n)]


def test_an_unsealed_pool_is_written_as_the_whole_file_encoder_writes_it(tmp_path: Path) -> None:
    records = _records(11)
    pool, paths = freeze.write_pool_files(iter(records), tmp_path, sealed=False)
    assert paths[0].read_bytes() == sr1.encode_pool(records)
    assert pool.sha256 == sr1.digest_bytes(sr1.encode_pool(records))
    assert len(pool) == 11 and pool.stratum_sizes() == {"A": 6, "B": 5}
    # Read back block by block, the same columns.
    lines = [u for block in pool.blocks() for u in block.usccs]
    assert lines == [r[0] for r in records]


def test_a_sealed_pool_shows_tags_and_keeps_strata_and_salts_apart(tmp_path: Path) -> None:
    records = _records(9)
    salts = {r[0]: f"{n:032x}" for n, r in enumerate(records)}
    pool, (pool_path, strata_path) = freeze.write_pool_files(
        iter(records), tmp_path, sealed=True, salt=salts.__getitem__
    )
    expected_strata = sr1.encode_strata((u, s, salts[u]) for u, s, _ in records)
    assert strata_path.read_bytes() == expected_strata
    public = sr1.parse_pool(pool_path.read_bytes())
    sr1.check_strata(sr1.parse_strata(expected_strata), public)  # every tag is the entity's
    assert not {"A", "B"} & set(public.strata)
    assert pool.sizes() == {"A": 5, "B": 4} and pool.strata_sha256 == sr1.digest_bytes(
        expected_strata
    )
    # Fresh salts: sixteen random bytes each, different at every freeze.
    _, (_, fresh) = freeze.write_pool_files(iter(records), tmp_path / "again", sealed=True)
    salts_written = [line.split(b"\t")[2] for line in fresh.read_bytes().splitlines()]
    assert len(set(salts_written)) == 9 and all(len(s) == 32 for s in salts_written)


def test_rows_out_of_order_are_refused_for_a_sorted_rewrite(tmp_path: Path) -> None:
    records = _records(10)
    across_a_border = records[:4] + [records[3]] + records[5:]  # a USCC again in block two
    with pytest.raises(sr1.TsvError) as caught:
        freeze.write_pool_files(iter(across_a_border), tmp_path, sealed=False)
    assert caught.value.line == 5 and "duplicate" in caught.value.reason
    unsorted = records[:4] + [records[8]] + records[5:8] + records[9:]
    for rows in (unsorted, records[:6] + [records[3]]):
        with pytest.raises(freeze._OutOfOrder):
            freeze.write_pool_files(iter(rows), tmp_path, sealed=True)
    with pytest.raises(sr1.TsvError, match="UNIT must be non-empty"):
        bad = [*records[:6], (records[6][0], "A", "652301\t01")]
        freeze.write_pool_files(iter(bad), tmp_path, sealed=False)
    swapped_in_a_block = [records[0], records[2], records[1]]
    with pytest.raises(freeze._OutOfOrder):
        freeze.write_pool_files(iter(swapped_in_a_block), tmp_path, sealed=False)
    assert list(tmp_path.iterdir()) == []  # refused: nothing left behind


@pytest.mark.parametrize("protocol", ["sr2", "sr1"])
def test_a_frozen_file_changed_on_disk_stops_the_draw(
    client, planner, app, session, protocol: str
) -> None:
    same_ratio = {k: {"percent": "10"} for k in "ABCD"}
    frozen = create_and_freeze(
        client, planner, **({"quotas": same_ratio} if protocol == "sr1" else {})
    )
    assert frozen["params"]["protocol"] == protocol
    path = stored_path(app.state.settings.storage_dir, frozen["params"]["pool_sha256"])
    data = bytearray(path.read_bytes())
    data[-2] = ord("9") if data[-2] != ord("9") else ord("8")  # the last unit's last digit
    path.write_bytes(bytes(data))
    r = client.post(
        "/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner
    )
    assert r.status_code == 404 and "改动" in r.text, r.text
    assert session.exec(select(func.count()).select_from(Draw)).one() == 0


def test_the_pool_read_from_the_driver_is_the_pool_sqlalchemy_reads(
    client, planner, session, engine
) -> None:
    """On PostgreSQL the pool query's rows come from psycopg's server-side cursor (the same
    SQL and parameters, without SQLAlchemy's per-row work): the same rows, in the same order,
    for a directed batch whose conditions bind enums, lists, prefixes and dates."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the driver's server-side cursor is PostgreSQL's")
    from supervision.planning.pool import _driver_rows, _sqlalchemy_rows, pool_statement
    from supervision.planning.service import get_batch

    body = batch_body(
        "CJ-2026-DRV",
        filters={
            "statuses": ["active", "suspended"],
            "entity_types": ["enterprise", "individual"],
            "region_codes": ["6523"],
            "established_before": "2026-01-01",
        },
        exclusion={"same_item_months": 12, "low_risk_once_per_year": True},
    )
    r = client.post("/api/v1/plans/CJ-2026/batches", json=body, headers=planner)
    assert r.status_code == 201, r.text
    stmt = pool_statement(session, get_batch(session, "CJ-2026-DRV"))
    connection = session.connection()
    generic = list(_sqlalchemy_rows(connection, stmt))
    driver = list(_driver_rows(connection, stmt))
    assert len(generic) > 20
    assert [tuple(map(str, r)) for r in driver] == [tuple(map(str, r)) for r in generic]
