"""The published documents of a batch: the commitment notice and the draw result notice."""

import json
from pathlib import Path

from sqlmodel import Session

from reports.render import TEMPLATES, render_pdf
from supervision.errors import NotFound
from supervision.planning import bundle, drawing, freeze, queries, service
from supervision.planning.models import Plan
from supervision.registry.models import InspectionItem
from supervision.registry.queries import department_names
from supervision.registry.reference import load_qualifications
from supervision.settings import get_settings
from supervision.storage.artefacts import artefact, content_key


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
        departments=department_names(session),
        quals={c: q.label for c, q in load_qualifications(get_settings().data_dir).items()},
    )


# Part of every PDF's content key: bump when a template or the renderer changes what it prints.
DOCUMENTS_VERSION = "2026-12-07"


_DIGESTS: dict[tuple, str] = {}


def _template_digest(*names: str) -> str:
    """The templates' content (and the renderer's version) as part of a PDF's key; re-read
    only when a file's modification time changes."""
    paths = [TEMPLATES / n for n in ("base.html", *names)]
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in paths)
    if stamp not in _DIGESTS:
        _DIGESTS[stamp] = content_key(*(p.read_bytes() for p in paths), DOCUMENTS_VERSION)
    return _DIGESTS[stamp]


def draw_result_pdf_file(session: Session, code: str, *, storage: Path) -> Path:
    """The draw result notice as a stored artefact: rebuilt only when the draw's content (its
    events, hence its teams and withdrawals) or the template changes. Names are printed as the
    registry had them when the notice was first built for that content: a record of the draw."""
    key = content_key(
        "draw.pdf", bundle.bundle_key(session, code), _template_digest("draw_result.html")
    )
    return artefact(
        storage, f"{code}-draw.pdf", key, lambda: draw_result_pdf(session, code, storage=storage)
    )


def commitment_pdf_file(session: Session, code: str, *, storage: Path) -> Path:
    """The commitment notice as a stored artefact, keyed by the standing commitment."""
    batch = service.get_batch(session, code)
    commitment = freeze.active_commitment(session, batch)
    if commitment is None:
        raise NotFound("该批次没有有效的承诺", "the batch has no standing commitment")
    items = [(i.code, i.name, i.legal_basis) for i in _items(session, batch)]
    key = content_key(
        "commitment.pdf",
        code,
        commitment.commitment,
        commitment.published_at.isoformat(),
        batch.name,
        items,
        _template_digest("commitment.html"),
    )
    return artefact(storage, f"{code}-commitment.pdf", key, lambda: commitment_pdf(session, code))


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
