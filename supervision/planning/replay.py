"""Replay a draw case folder through the database: registry rows, batch, freeze, draw, events.

The folder is laid out like the published test vectors' input/: pool.tsv, roster.tsv,
conflicts.tsv, params.json (without the computed digests), entropy.json, events.json, and for
protocol sr2 strata.tsv (the entities' strata, and the salts the freeze uses instead of fresh
random ones, so the case's tags come out again). Every
step goes through the same services the API uses, so a replay that reproduces a vector's
expected bundle shows the product, not just the protocol module, follows the contract.
"""

import json
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session

from supervision.clock import Clock, FixedClock
from supervision.draw import sr1
from supervision.planning import bundle, drawing, freeze, service
from supervision.planning import schemas as s
from supervision.planning.ceremony import CeremonyRules
from supervision.planning.events import recuse, withdraw_entity
from supervision.registry.models import (
    ConflictDeclaration,
    Department,
    Entity,
    InspectionItem,
    Inspector,
    Unit,
)

ENTITY_TYPE_BY_CODE = {"1": "enterprise", "2": "individual", "3": "cooperative"}
REPLAY_ITEM = "REPLAY-001"
LONG_AGO = date(2000, 1, 1)


# Committed and drawn in the same moment: the case's own times are not replayed.
REPLAY_RULES = CeremonyRules(notice=timedelta(0))


def _load_registry(session: Session, folder: Path, clock: Clock) -> None:
    pool = sr1.parse_pool((folder / "pool.tsv").read_bytes())
    roster = sr1.parse_roster((folder / "roster.tsv").read_bytes())
    conflicts = sr1.parse_conflicts((folder / "conflicts.tsv").read_bytes())
    strata = _strata(folder)
    stratum_of = dict(zip(strata.usccs, strata.strata, strict=True)) if strata is not None else None
    now = clock.now()
    groups = sorted({i.group for i in roster})
    for g in groups:
        if session.get(Department, g) is None:
            session.add(Department(code=g, name=f"回放部门{g}"))
    session.flush()
    units: dict[str, str] = {}
    for unit in pool.units:
        units.setdefault(unit, groups[0])
    for i in roster:
        units[i.unit] = i.group
    for code, dept in sorted(units.items()):
        if session.get(Unit, code) is None:
            session.add(Unit(code=code, name=f"回放单位{code}", department_code=dept))
    if session.get(InspectionItem, REPLAY_ITEM) is None:
        session.add(
            InspectionItem(
                code=REPLAY_ITEM,
                name="回放检查事项",
                legal_basis="sr1 回放",
                department_code=groups[0],
                object_type="市场主体",
                content="回放",
                methods="desk",
                category="general",
            )
        )
    session.flush()
    session.execute(
        insert(Entity),
        [
            {
                "uscc": uscc,
                "uscc_check_ok": True,
                "name": f"回放主体{uscc}",
                "entity_type": ENTITY_TYPE_BY_CODE.get(uscc[1], "enterprise"),
                "legal_rep": "回放",
                "registered_address": "回放",
                "region_code": uscc[2:8],
                "industry_code": "F51",
                "registration_authority": "回放",
                "supervising_unit": unit,
                "established_on": LONG_AGO,
                "status": "active",
                "risk_class": stratum_of[uscc] if stratum_of is not None else stratum,
                "created_at": now,
                "updated_at": now,
            }
            for uscc, stratum, unit in pool.records()
        ],
    )
    session.execute(
        insert(Inspector),
        [
            {
                "badge_no": i.inspector_id,
                "name": f"回放{i.inspector_id}",
                "department_code": i.group,
                "unit_code": i.unit,
                "qualifications": ",".join(sorted(i.qualifications)),
                "active": True,
                "is_expert": False,
                "created_at": now,
                "updated_at": now,
            }
            for i in roster
        ],
    )
    if conflicts:
        entity_ids = drawing.ids_by_key(session, Entity.id, Entity.uscc, [u for _, u in conflicts])
        inspector_ids = drawing.ids_by_key(
            session, Inspector.id, Inspector.badge_no, [i for i, _ in conflicts]
        )
        session.execute(
            insert(ConflictDeclaration),
            [
                {
                    "inspector_id": inspector_ids[i],
                    "entity_id": entity_ids[u],
                    "reason": "回放回避声明",
                    "valid_from": LONG_AGO,
                    "declared_at": now,
                }
                for i, u in conflicts
            ],
        )
    session.flush()


def _strata(folder: Path) -> sr1.Strata | None:
    path = folder / "strata.tsv"
    return sr1.parse_strata(path.read_bytes()) if path.exists() else None


def replay(
    session: Session, folder: Path, *, storage: Path, clock: Clock, actor: str = "replay"
) -> bundle.BundleFiles:
    params = json.loads((folder / "params.json").read_text(encoding="utf-8"))
    entropy = json.loads((folder / "entropy.json").read_text(encoding="utf-8"))
    events = json.loads((folder / "events.json").read_text(encoding="utf-8"))
    clock = FixedClock(clock.now())  # the whole case in one moment: its ceremony is now
    _load_registry(session, folder, clock)
    year = clock.today().year
    plan = service.create_plan(
        session,
        s.PlanCreate(
            code=f"REPLAY-{params['batch']}", year=year, name="回放计划", authority="回放"
        ),
        actor=actor,
        clock=clock,
    )
    team = [s.TeamSlot(**slot) for slot in params["team"]]
    data = s.BatchCreate(
        code=params["batch"],
        name=f"回放批次{params['batch']}",
        initiating_department=team[0].group,
        item_codes=[REPLAY_ITEM],
        exclusion=s.BatchExclusion(same_item_months=None, low_risk_once_per_year=False),
        quotas={k: s.StratumQuota(count=v) for k, v in params["quotas"].items()},
        team=team,
        cross_unit=params["cross_unit"],
        max_load=params["max_load"],
        window_start=clock.today(),
        window_end=clock.today(),
        entropy_plan=params["entropy_plan"],
        # A recorded case is replayed as one ceremony, now.
        ceremony_at=clock.now(),
    )
    # The case's strata are used verbatim as the published labels.
    labels = {k: k for k in params["quotas"]}
    service.create_batch(session, plan.code, data, actor=actor, clock=clock, stratum_labels=labels)
    strata = _strata(folder)
    salts = dict(zip(strata.usccs, strata.salts, strict=True)) if strata is not None else {}
    freeze.freeze_batch(
        session,
        data.code,
        actor=actor,
        clock=clock,
        storage=storage,
        protocol=params["protocol"],
        salt=salts.__getitem__,
        # A replay reproduces a recorded case as it was, dead ends included.
        acknowledge_unassigned=True,
        rules=REPLAY_RULES,
    )
    drawing.enter_entropy(
        session, data.code, entropy, actor=actor, clock=clock, storage=storage, rules=REPLAY_RULES
    )
    for event in events:
        if event["type"] == "recuse":
            recuse(
                session,
                data.code,
                event["uscc"],
                event["inspector"],
                event["reason"],
                actor=actor,
                clock=clock,
                storage=storage,
            )
        else:
            withdraw_entity(
                session,
                data.code,
                event["uscc"],
                event["reason"],
                actor=actor,
                clock=clock,
                storage=storage,
            )
    return bundle.export_bundle(session, data.code, storage=storage)
