"""The planning domain's scheduled work: freezes at their announced time, and beacon draws
at their ceremony. Both run on the scheduler's tick; each batch's step is tried in a savepoint
of its own, every try is recorded (`CeremonyAttempt`) and a failure tells the planners."""

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from supervision.accounts.models import Role
from supervision.clock import Clock, as_utc
from supervision.errors import DomainError
from supervision.inbox.service import notify
from supervision.jobs.runner import Job
from supervision.planning import beacon as beacons
from supervision.planning import drawing, freeze
from supervision.planning.ceremony import CeremonyRules, china_time, commitment_beacon
from supervision.planning.models import Batch, BatchState, CeremonyAttempt, Commitment, Draw
from supervision.planning.templates import make_due_batches
from supervision.settings import Settings

SCHEDULER = "scheduler"
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(minutes=30)


def _attempts(session: Session, batch: Batch, action: str) -> list[CeremonyAttempt]:
    return list(
        session.exec(
            select(CeremonyAttempt)
            .where(CeremonyAttempt.batch_id == batch.id, CeremonyAttempt.action == action)
            .order_by(col(CeremonyAttempt.id))
        )
    )


def _record(
    session: Session, batch: Batch, action: str, ok: bool, message: str, clock: Clock
) -> None:
    session.add(
        CeremonyAttempt(batch_id=batch.id, action=action, at=clock.now(), ok=ok, message=message)
    )
    session.flush()


def retry_delay(failures: int) -> timedelta:
    """30 s after the first failure, doubling, at most 30 min."""
    return min(FIRST_RETRY * (2 ** max(failures - 1, 0)), MAX_RETRY)


def _alert(session: Session, batch: Batch, subject: str, body: str, clock: Clock) -> None:
    notify(
        session,
        (Role.planner, Role.admin),
        kind="ceremony",
        subject=subject,
        body=body,
        link=f"/staff/batches/{batch.code}",
        clock=clock,
    )


def scheduled_freezes(
    session: Session, clock: Clock, settings: Settings, rules: CeremonyRules
) -> list[dict[str, Any]]:
    """Freeze every draft whose announced freeze time has come (once per announced time)."""
    now = clock.now()
    done = []
    due = session.exec(
        select(Batch).where(
            Batch.state == BatchState.draft,
            col(Batch.freeze_at).is_not(None),
            col(Batch.freeze_at) <= now,
        )
    ).all()
    for batch in due:
        tried = [
            a
            for a in _attempts(session, batch, "freeze")
            if as_utc(a.at) >= as_utc(batch.freeze_at)
        ]
        if tried:
            continue  # this announced time was tried already (its outcome is on record)
        try:
            with session.begin_nested():
                c, _ = freeze.freeze_batch(
                    session,
                    batch.code,
                    actor=SCHEDULER,
                    clock=clock,
                    storage=settings.storage_dir,
                    rules=rules,
                )
        except DomainError as exc:
            message = f"定时冻结未执行：{exc.zh}"
            _record(session, batch, "freeze", False, message, clock)
            _alert(session, batch, f"批次 {batch.code} 定时冻结未执行", message, clock)
            done.append({"batch": batch.code, "action": "freeze", "ok": False, "why": exc.zh})
            continue
        _record(session, batch, "freeze", True, f"已冻结，承诺 {c.commitment}", clock)
        done.append({"batch": batch.code, "action": "freeze", "ok": True})
    return done


def _withdrawn_beacons(session: Session, now: datetime) -> list[tuple[Batch, Commitment]]:
    """Beacon commitments withdrawn before their round came, whose round time has passed."""
    rows = session.exec(
        select(Batch, Commitment)
        .join(Commitment, col(Commitment.batch_id) == Batch.id)
        .where(col(Commitment.beacon_json).is_not(None), col(Commitment.withdrawn_at).is_not(None))
    ).all()
    out = []
    for batch, c in rows:
        beacon = commitment_beacon(c)
        if beacon is not None and as_utc(beacon.round_time) <= now:
            out.append((batch, c))
    return out


def beacon_draws(
    session: Session, clock: Clock, settings: Settings, rules: CeremonyRules
) -> list[dict[str, Any]]:
    """Draw every frozen beacon batch whose committed round is due, from that round only."""
    now = clock.now()
    done: list[dict[str, Any]] = []
    for batch, c in _withdrawn_beacons(session, now):
        if any(
            a.message.startswith(f"承诺第 {c.seq} 号") for a in _attempts(session, batch, "beacon")
        ):
            continue
        why = (
            f"承诺第 {c.seq} 号已于 {china_time(c.withdrawn_at)} 公开撤回"
            f"（{c.withdrawn_reason}）：不再获取信标、不抽取"
        )
        _record(session, batch, "beacon", False, why, clock)
        done.append({"batch": batch.code, "action": "beacon", "ok": None, "why": why})
    frozen = session.exec(
        select(Batch, Commitment)
        .join(Commitment, col(Commitment.batch_id) == Batch.id)
        .where(
            Batch.state == BatchState.frozen,
            col(Commitment.withdrawn_at).is_(None),
            col(Commitment.beacon_json).is_not(None),
        )
    ).all()
    for batch, c in frozen:
        beacon = commitment_beacon(c)
        if beacon is None or as_utc(beacon.round_time) > now:
            continue
        if session.exec(select(Draw.id).where(Draw.batch_id == batch.id)).first():
            continue
        failures = [a for a in _attempts(session, batch, "beacon") if not a.ok]
        if failures and now < as_utc(failures[-1].at) + retry_delay(len(failures)):
            continue
        try:
            served = beacons.fetch_round(
                settings.beacon_endpoint, beacon, settings.beacon_timeout_seconds
            )
            beacons.check_round(beacon, served)
            with session.begin_nested():
                draw = drawing.enter_entropy(
                    session,
                    batch.code,
                    [],
                    actor=SCHEDULER,
                    clock=clock,
                    storage=settings.storage_dir,
                    rules=rules,
                    late_reason=_late_reason(batch, now, rules),
                    beacon_served=served,
                )
        except (beacons.BeaconUnavailable, beacons.BeaconRejected, DomainError) as exc:
            message = exc.zh if isinstance(exc, DomainError) else str(exc)
            kind = "rejected" if isinstance(exc, beacons.BeaconRejected) else "unavailable"
            _record(session, batch, "beacon", False, message, clock)
            n = len(failures) + 1
            if n & (n - 1) == 0:  # the 1st, 2nd, 4th, 8th … failure: alert, not every try
                _alert(
                    session,
                    batch,
                    f"批次 {batch.code} 信标抽取未完成（第 {n} 次尝试）",
                    f"{message}。系统将于 {retry_delay(n).total_seconds():g} 秒后重试，"
                    "不会改用其他熵值。",
                    clock,
                )
            done.append(
                {"batch": batch.code, "action": "beacon", "ok": False, "kind": kind, "why": message}
            )
            continue
        _record(session, batch, "beacon", True, f"第 {beacon.round} 轮已核验并抽取", clock)
        done.append(
            {
                "batch": batch.code,
                "action": "beacon",
                "ok": True,
                "round": beacon.round,
                "seed": draw.seed,
            }
        )
    return done


def _late_reason(batch: Batch, now: datetime, rules: CeremonyRules) -> str | None:
    """A beacon draw made past the grace period (the scheduler was down) says so."""
    if batch.ceremony_at is not None and now > as_utc(batch.ceremony_at) + rules.grace:
        return f"调度服务于 {china_time(now)} 恢复后补行抽取；使用的仍是承诺的信标轮次"
    return None


def ceremonies(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    """The tick's planning work: due freezes, then due beacon draws."""
    rules = CeremonyRules.of(settings)
    steps = scheduled_freezes(session, clock, settings, rules)
    steps += beacon_draws(session, clock, settings, rules)
    return {"steps": steps, "idle": not steps}


def templates(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    """Each plan template's batches, created ahead of their ceremonies."""
    from_templates = make_due_batches(session, clock, CeremonyRules.of(settings))
    return {"steps": from_templates}


JOBS = [
    Job(
        "planning.ceremonies",
        ceremonies,
        cron={},
        description="按公告时间定时冻结批次；在仪式时间获取并核验信标、抽取",
        tick=True,
    ),
    Job(
        "planning.templates",
        templates,
        cron={"hour": 6, "minute": 0},
        description="按计划模板（如每季度）提前创建批次，并公告其仪式与定时冻结",
    ),
]
