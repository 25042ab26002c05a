"""Freezing a batch: the pool, roster and conflicts written as canonical TSV files, stored
by content, and the commitment published; a commitment may be withdrawn before the draw."""

import json
from pathlib import Path

from sqlmodel import Session, col, select

from supervision.audit.service import record_change
from supervision.clock import Clock
from supervision.draw import sr1
from supervision.errors import Conflict, Invalid
from supervision.planning import pool as pool_q
from supervision.planning.feasibility import Feasibility, check_feasibility
from supervision.planning.models import (
    Batch,
    BatchState,
    Commitment,
)
from supervision.planning.service import TSV, get_batch, sr1_refused, team_groups, team_slots
from supervision.storage.service import put_bytes

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


def freeze_batch(
    session: Session, code: str, *, actor: str, clock: Clock, storage: Path
) -> tuple[Commitment, Feasibility]:
    """Write pool, roster and conflicts as sr1 files, compute and publish the commitment."""
    batch = get_batch(session, code)
    if batch.state != BatchState.draft:
        raise Conflict(
            f"批次处于“{batch.state}”状态，只有草稿可以冻结",
            f"batch is {batch.state}; only a draft can be frozen",
        )
    feas = check_feasibility(session, batch)
    if not feas.ok:
        raise Invalid(
            "可行性检查未通过：" + "；".join(p["zh"] for p in feas.problems),
            "feasibility check failed: " + "; ".join(p["en"] for p in feas.problems),
            problems=feas.problems,
        )
    groups = team_groups(batch)
    try:
        pool_bytes = sr1.encode_pool(pool_q.pool_records(session, batch))
        roster_bytes = sr1.encode_roster(pool_q.roster_records(session, batch, groups))
        conflicts_bytes = sr1.encode_conflicts(pool_q.conflict_records(session, batch, groups))
        base = {
            "protocol": sr1.PROTOCOL,
            "batch": batch.code,
            "quotas": {k: v["quota"] for k, v in feas.strata.items()},
            "team": team_slots(batch),
            "cross_unit": batch.cross_unit,
            "max_load": batch.max_load,
            "entropy_plan": batch.entropy_plan,
        }
        params = sr1.build_params(base, pool_bytes, roster_bytes, conflicts_bytes)
    except sr1.Sr1Error as e:
        raise sr1_refused(e) from None
    digest = sr1.commitment(params)
    earlier = commitments(session, batch)
    if any(c.commitment == digest for c in earlier):
        raise Conflict(
            "新承诺与已撤回的承诺完全相同：请修改公告的熵来源（时间、地点）或其他参数后再冻结",
            "identical to a withdrawn commitment: change the announced entropy plan or inputs",
        )
    for data in (pool_bytes, roster_bytes, conflicts_bytes):
        put_bytes(session, storage, data, TSV, clock)
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
        {"commitment": row.commitment, "seq": seq, "pool_size": row.pool_size},
        clock,
    )
    return row, feas


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
