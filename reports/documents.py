"""The published documents of a batch: the commitment notice and the draw result notice."""

import json
from pathlib import Path

from sqlmodel import Session

from reports.render import render_pdf
from supervision.errors import NotFound
from supervision.planning import bundle, drawing, freeze, queries, service
from supervision.planning.models import Plan
from supervision.registry.models import InspectionItem


def _items(session: Session, batch) -> list[InspectionItem]:
    return [session.get(InspectionItem, code) for code in service.batch_items(session, batch)]


def commitment_pdf(session: Session, code: str) -> bytes:
    """抽查承诺公告: the frozen inputs' digests and the commitment, before any randomness."""
    batch = service.get_batch(session, code)
    commitment = freeze.active_commitment(session, batch)
    if commitment is None:
        raise NotFound("该批次没有有效的承诺", "the batch has no standing commitment")
    plan = session.get(Plan, batch.plan_id)
    return render_pdf(
        "commitment.html",
        batch=batch,
        plan=plan,
        items=_items(session, batch),
        commitment=commitment,
        params=json.loads(commitment.params_json),
        authority=plan.authority,
    )


def draw_result_pdf(session: Session, code: str, *, storage: Path) -> bytes:
    """抽取结果公告: entropy, seed, the drawn entities with their teams, and events."""
    batch = service.get_batch(session, code)
    files = bundle.export_bundle(session, code, storage=storage)
    plan = session.get(Plan, batch.plan_id)
    rows = [
        {"uscc": r["uscc"], "name": r["entity_name"], "team": r["team"]}
        for r in queries.task_rows(session, batch)
        if r["state"] != "withdrawn"
    ]
    return render_pdf(
        "draw_result.html",
        batch=batch,
        bundle=files.bundle,
        rows=rows,
        authority=plan.authority,
        drawn_at=drawing.get_draw(session, batch).drawn_at,
    )
