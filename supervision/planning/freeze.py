"""Freezing a batch: the pool, roster and conflicts written as canonical TSV files, stored
by content, and the commitment published; a commitment may be withdrawn before the draw."""

import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from functools import partial
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from supervision.audit.service import record_change
from supervision.clock import Clock
from supervision.draw import sr1
from supervision.errors import Conflict, Invalid, NotFound
from supervision.planning import ceremony
from supervision.planning import pool as pool_q
from supervision.planning.ceremony import DEFAULT_RULES, CeremonyRules
from supervision.planning.feasibility import Feasibility, check_feasibility
from supervision.planning.models import (
    Batch,
    BatchState,
    Commitment,
)
from supervision.planning.service import TSV, get_batch, sr1_refused, team_groups, team_slots
from supervision.storage.service import put_bytes, put_file, stored_path

# ---- freeze --------------------------------------------------------------------------------


def active_commitment(session: Session, batch: Batch) -> Commitment | None:
    return session.exec(
        select(Commitment)
        .where(Commitment.batch_id == batch.id, col(Commitment.withdrawn_at).is_(None))
        .order_by(col(Commitment.seq).desc())
    ).first()


def commitments(session: Session, batch: Batch) -> list[Commitment]:
    return list(
        session.exec(
            select(Commitment).where(Commitment.batch_id == batch.id).order_by(Commitment.seq)
        )
    )


class _OutOfOrder(Exception):
    """The database returned the pool in another order than the protocol's (a collation)."""


def write_pool_files(
    records: Iterable[tuple[str, str, str]],
    directory: Path,
    *,
    sealed: bool,
    salt: Callable[[str], str] | None = None,
) -> tuple[sr1.PoolFile, list[Path]]:
    """pool.tsv — and under sr2 strata.tsv — written from (USCC, STRATUM, UNIT) records in
    USCC order, a block at a time, into new files in ``directory``: each block is checked
    as `parse_pool` would check it (and its strata as `parse_strata`), hashed and counted as
    it is written, so ten million entities are never held at once and never read back.

    Under sr2 each entity gets a fresh random salt (unless ``salt`` gives it: a replayed
    case) and pool.tsv shows its tag instead of its stratum. Raises `_OutOfOrder` when the
    records are not in the protocol's USCC order."""
    directory.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    pool_path = directory / f".freeze-{token}-pool.tsv"
    strata_path = directory / f".freeze-{token}-strata.tsv"
    paths = [pool_path, strata_path] if sealed else [pool_path]
    pool_digest, strata_digest = hashlib.sha256(), hashlib.sha256()
    labels: Counter[str] = Counter()
    size, last = 0, None
    line = "{}\t{}\t{}\n".format
    try:
        with pool_path.open("wb") as pool_out, ExitStack() as stack:
            strata_out = stack.enter_context(strata_path.open("wb")) if sealed else None
            rows = iter(records)
            while block := list(islice(rows, sr1.BLOCK_LINES)):
                usccs, strata, units = (list(map(itemgetter(k), block)) for k in range(3))
                _check_block(sr1.Pool(usccs, strata, units), last, size)
                last = usccs[-1]
                labels.update(strata)
                column = strata
                if strata_out is not None:
                    salts = fresh_salts(len(usccs)) if salt is None else list(map(salt, usccs))
                    sr1.check_written_strata(sr1.Strata(usccs, strata, salts))
                    data = "".join(map(line, usccs, strata, salts)).encode()
                    strata_out.write(data)
                    strata_digest.update(data)
                    column = sr1.tags(usccs, strata, salts)
                data = "".join(map(line, usccs, column, units)).encode()
                pool_out.write(data)
                pool_digest.update(data)
                size += len(usccs)
    except BaseException:
        _remove(paths)
        raise
    summary = sr1.PoolSummary(
        size, pool_digest.hexdigest(), strata_digest.hexdigest() if sealed else None, labels
    )
    pool = sr1.PoolFile(
        partial(pool_path.open, "rb"),
        partial(strata_path.open, "rb") if sealed else None,
        sealed=sealed,
        checked=True,
        summary=summary,
    )
    return pool, paths


def _check_block(block: sr1.Pool, last: str | None, before: int) -> None:
    try:
        sr1.check_pool_columns(block)
    except sr1.TsvError as exc:
        if exc.reason.startswith("not sorted"):
            raise _OutOfOrder from None
        raise sr1.TsvError(exc.file, exc.line and exc.line + before, exc.reason) from None
    first = block.usccs[0]
    if last is not None and not last < first:
        if first != last:
            raise _OutOfOrder
        raise sr1.TsvError("pool.tsv", before + 1, f"duplicate USCC {first!r}")


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def frozen_pool(storage: Path, c: Commitment) -> sr1.PoolFile:
    """pool.tsv (and sr2's strata.tsv) as frozen, read a block of lines at a time: at ten
    million entities neither file is ever held whole. They were validated at the freeze; the
    first pass here checks that they still hash to their names."""
    params = json.loads(c.params_json)
    sealed = params["protocol"] == sr1.SEALED
    pool_path = stored_path(storage, c.pool_sha256)
    strata_path = stored_path(storage, params["strata_sha256"]) if sealed else None
    summary = None
    if sealed:  # what the draw needs is committed (sizes): only the digests are checked
        assert strata_path is not None
        digests = (_file_sha256(pool_path), _file_sha256(strata_path))
        summary = sr1.PoolSummary(c.pool_size, *digests, params["strata_sizes"])
    pool = sr1.PoolFile(
        partial(pool_path.open, "rb"),
        None if strata_path is None else partial(strata_path.open, "rb"),
        sealed=sealed,
        checked=True,
        summary=summary,
    )
    if pool.sha256 != c.pool_sha256 or pool.strata_sha256 != params.get("strata_sha256"):
        raise NotFound(
            "冻结文件内容已被改动", f"a frozen file of commitment {c.commitment} is corrupted"
        )
    return pool


def _file_sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return sr1.stream_digest(stream)


def protocol_for(sizes: dict[str, int]) -> str:
    """Strata built from the credit-risk classes are internal: with more than one stratum in
    the pool the draw seals them (sr2); a single stratum reveals nothing (sr1)."""
    return sr1.SEALED if sum(1 for n in sizes.values() if n) > 1 else sr1.PROTOCOL


def fresh_salts(n: int) -> list[str]:
    """n salts from a cryptographic random source, drawn anew for every entity at every
    freeze (one call to the operating system's generator, then cut into 16-byte salts)."""
    if n == 0:
        return []
    size = sr1.SALT_LENGTH // 2
    # hex() puts a separator after every `size` bytes, and one split cuts them at C speed.
    return secrets.token_bytes(n * size).hex(" ", size).split(" ")


def freeze_batch(
    session: Session,
    code: str,
    *,
    actor: str,
    clock: Clock,
    storage: Path,
    protocol: str | None = None,
    salt: Callable[[str], str] | None = None,
    acknowledge_unassigned: bool = False,
    rules: CeremonyRules = DEFAULT_RULES,
) -> tuple[Commitment, Feasibility]:
    """Write the frozen files, compute and publish the commitment.

    When the feasibility check foresees drawn entities that would get no full team, freezing
    needs ``acknowledge_unassigned`` — the planner's explicit "yes, knowing that" — which is
    recorded with the freeze.

    The protocol follows from the strata (`protocol_for`) unless given (a replayed case
    names its own); under sr2 ``salt`` gives each entity its salt (fresh random ones,
    except when a published case is replayed).
    """
    batch = get_batch(session, code)
    if batch.state != BatchState.draft:
        raise Conflict(
            f"批次处于“{batch.state}”状态，只有草稿可以冻结",
            f"batch is {batch.state}; only a draft can be frozen",
        )
    ceremony.check_freeze(batch, clock.now(), rules)
    beacon = ceremony.beacon_round_for(batch, rules)
    feas = check_feasibility(session, batch)
    if not feas.ok:
        raise Invalid(
            "可行性检查未通过：" + "；".join(p["zh"] for p in feas.problems),
            "feasibility check failed: " + "; ".join(p["en"] for p in feas.problems),
            problems=feas.problems,
        )
    if feas.unassigned and not acknowledge_unassigned:
        raise Conflict(
            f"约 {feas.unassigned} 户抽中后将无法组成完整检查组："
            + "；".join(w["zh"] for w in feas.warnings if w.get("kind") == "unassigned")
            + "。如仍要冻结，须确认知悉（确认将与冻结一并记录）",
            f"about {feas.unassigned} drawn entities would get no full team; "
            "freezing needs an explicit acknowledgement",
            unassigned=feas.unassigned,
        )
    groups = team_groups(batch)
    sizes = {label: stratum["size"] for label, stratum in feas.strata.items()}
    protocol = protocol or protocol_for(sizes)
    sealed = protocol == sr1.SEALED
    written: list[Path] = []
    try:
        # Streamed from the database into the files, a block at a time, checked and hashed
        # as written: the pool is never held whole, and the files are never read back.
        try:
            pool, written = write_pool_files(
                pool_q.pool_records(session, batch), storage, sealed=sealed, salt=salt
            )
        except _OutOfOrder:  # the database's collation is not code-point order
            pool, written = write_pool_files(
                sorted(pool_q.pool_records(session, batch)), storage, sealed=sealed, salt=salt
            )
        roster_bytes = sr1.encode_roster(pool_q.roster_records(session, batch, groups))
        conflicts_bytes = sr1.encode_conflicts(pool_q.conflict_records(session, batch, groups))
        base = {
            "protocol": protocol,
            "batch": batch.code,
            "quotas": {k: v["quota"] for k, v in feas.strata.items()},
            "team": team_slots(batch),
            "cross_unit": batch.cross_unit,
            "max_load": batch.max_load,
            "entropy_plan": ceremony.committed_entropy_plan(batch, beacon),
        }
        # From the digests and counts taken while writing: nothing is read back.
        params = sr1.pool_file_params(base, pool, roster_bytes, conflicts_bytes)
        digest = sr1.commitment(params)
        earlier = commitments(session, batch)
        # Only a re-freeze compares inputs (most batches are frozen once).
        fingerprint = _inputs_fingerprint(params, pool) if earlier else ""
        if any(
            c.commitment == digest
            or _inputs_fingerprint(json.loads(c.params_json), frozen_pool(storage, c))
            == fingerprint
            for c in earlier
        ):
            raise Conflict(
                "新承诺与已撤回的承诺完全相同：请修改公告的熵来源（时间、地点）或其他参数后再冻结",
                "identical to a withdrawn commitment: change the announced entropy plan or inputs",
            )
        # Moved into the store under the digests computed while they were written.
        put_file(session, storage, written[0], TSV, clock, sha256=params["pool_sha256"])
        if sealed:
            put_file(session, storage, written[1], TSV, clock, sha256=params["strata_sha256"])
        put_bytes(session, storage, roster_bytes, TSV, clock, sha256=params["roster_sha256"])
        put_bytes(session, storage, conflicts_bytes, TSV, clock, sha256=params["conflicts_sha256"])
    except sr1.Sr1Error as e:
        raise sr1_refused(e) from None
    finally:
        _remove(written)  # what was not moved into the store
    seq = len(earlier) + 1
    row = Commitment(
        batch_id=batch.id,
        seq=seq,
        params_json=sr1.canonical_json(params),
        commitment=digest,
        pool_sha256=params["pool_sha256"],
        roster_sha256=params["roster_sha256"],
        conflicts_sha256=params["conflicts_sha256"],
        pool_size=params["pool_size"],
        feasibility_json=json.dumps(feas.to_dict(), ensure_ascii=False),
        published_at=clock.now(),
        published_by=actor,
        beacon_json=beacon.to_json() if beacon else None,
    )
    session.add(row)
    batch.state = BatchState.frozen
    session.add(batch)
    session.flush()
    record_change(
        session,
        actor,
        "planning.batch.freeze",
        "batch",
        code,
        {
            "commitment": row.commitment,
            "seq": seq,
            "pool_size": row.pool_size,
            "protocol": protocol,
            "acknowledged_unassigned": feas.unassigned if acknowledge_unassigned else 0,
        },
        clock,
    )
    return row, feas


def _inputs_fingerprint(params: dict[str, Any], pool: sr1.PoolFile) -> str:
    """What a commitment commits to, without sr2's salts: a re-freeze of the same inputs is
    the same commitment in substance even though fresh salts change every digest."""
    if not pool.has_strata:
        return sr1.commitment(params)
    unsealed = hashlib.sha256()  # of the pool.tsv sr1 would have written, a block at a time
    for block in pool.blocks():
        assert block.labels is not None
        unsealed.update(
            "".join(map("{}\t{}\t{}\n".format, block.usccs, block.labels, block.units)).encode()
        )
    salt_free = {k: v for k, v in params.items() if k not in ("pool_sha256", "strata_sha256")}
    return sr1.H(sr1.canonical_json({**salt_free, "unsealed_pool": unsealed.hexdigest()}))


def withdraw_commitment(
    session: Session, code: str, reason: str, *, actor: str, clock: Clock
) -> Commitment:
    """Withdraw a published commitment before the draw; the batch returns to draft, on record."""
    batch = get_batch(session, code)
    current = active_commitment(session, batch)
    if batch.state != BatchState.frozen or current is None:
        raise Conflict(
            "只有已公示承诺、尚未抽取的批次可以撤回承诺",
            "only a frozen, not yet drawn batch can withdraw its commitment",
        )
    current.withdrawn_at = clock.now()
    current.withdrawn_by = actor
    current.withdrawn_reason = reason
    batch.state = BatchState.draft
    session.add_all([current, batch])
    session.flush()
    record_change(
        session,
        actor,
        "planning.batch.withdraw_commitment",
        "batch",
        code,
        {"commitment": current.commitment, "reason": reason},
        clock,
    )
    return current
