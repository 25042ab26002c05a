"""Freezing a batch: the pool, roster and conflicts written as canonical TSV files, stored
by content, and the commitment published; a commitment may be withdrawn before the draw."""

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from supervision.audit.service import record_change
from supervision.clock import Clock
from supervision.draw import sr1
from supervision.errors import Conflict, Invalid
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
from supervision.storage.service import get_bytes, put_bytes

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


def sealed_columns(
    pool: sr1.Pool, salt: Callable[[str], str] | None = None
) -> tuple[sr1.Pool, sr1.Strata]:
    """sr2's public pool (each entity's tag instead of its stratum) and private strata (its
    stratum and salt), from the unsealed pool's columns — fresh random salts unless ``salt``
    gives them (a replayed case). Columns, not a tuple per entity: at a million entities
    the freeze holds the pool once."""
    salts = fresh_salts(len(pool)) if salt is None else [salt(u) for u in pool.usccs]
    tags = sr1.tags(pool.usccs, pool.strata, salts)
    return sr1.Pool(pool.usccs, tags, pool.units), sr1.Strata(pool.usccs, pool.strata, salts)


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
    strata_bytes, strata = None, None
    try:
        # Written from columns and checked as columns (`build_params`): the files are not
        # read back, and a million entities are held once.
        public = sr1.pool_columns(pool_q.pool_records(session, batch))
        if protocol == sr1.SEALED:
            public, strata = sealed_columns(public, salt)
            strata_bytes = sr1.encode_strata_columns(strata)
        pool_bytes = sr1.encode_pool_columns(public)
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
        # The tags were just computed from these strata: no need to hash them all again.
        params = sr1.build_params(
            base,
            pool_bytes,
            roster_bytes,
            conflicts_bytes,
            strata_bytes,
            check_tags=False,
            strata=strata,
            pool=public,
        )
        del public, strata
    except sr1.Sr1Error as e:
        raise sr1_refused(e) from None
    digest = sr1.commitment(params)
    earlier = commitments(session, batch)
    # Only a re-freeze compares inputs (most batches are frozen once).
    fingerprint = _inputs_fingerprint(params, pool_bytes, strata_bytes) if earlier else ""
    if any(
        c.commitment == digest
        or _inputs_fingerprint(json.loads(c.params_json), *_stored_pool(storage, c)) == fingerprint
        for c in earlier
    ):
        raise Conflict(
            "新承诺与已撤回的承诺完全相同：请修改公告的熵来源（时间、地点）或其他参数后再冻结",
            "identical to a withdrawn commitment: change the announced entropy plan or inputs",
        )
    stored = [
        (pool_bytes, "pool_sha256"),
        (roster_bytes, "roster_sha256"),
        (conflicts_bytes, "conflicts_sha256"),
        (strata_bytes, "strata_sha256"),
    ]
    for data, key in stored:
        if data is not None:  # digested once already, by build_params
            put_bytes(session, storage, data, TSV, clock, sha256=params[key])
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


def _stored_pool(storage: Path, c: Commitment) -> tuple[bytes, bytes | None]:
    params = json.loads(c.params_json)
    strata = params.get("strata_sha256")
    return get_bytes(storage, c.pool_sha256), get_bytes(storage, strata) if strata else None


def _inputs_fingerprint(
    params: dict[str, Any], pool_bytes: bytes, strata_bytes: bytes | None
) -> str:
    """What a commitment commits to, without sr2's salts: a re-freeze of the same inputs is
    the same commitment in substance even though fresh salts change every digest."""
    if strata_bytes is None:
        return sr1.commitment(params)
    pool, strata = sr1.parse_pool(pool_bytes), sr1.parse_strata(strata_bytes)
    unsealed = sr1.encode_pool(zip(pool.usccs, strata.strata, pool.units, strict=True))
    salt_free = {k: v for k, v in params.items() if k not in ("pool_sha256", "strata_sha256")}
    return sr1.H(sr1.canonical_json({**salt_free, "unsealed_pool": sr1.digest_bytes(unsealed)}))


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
