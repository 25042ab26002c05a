"""The published bundle of a drawn batch, rebuilt from the frozen files and cached by its
content (commitment, seed, last chain link, meta)."""

import json
import shutil
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, func, select

from supervision.audit.models import AuditEntry
from supervision.draw import sr1
from supervision.planning.drawing import get_draw
from supervision.planning.events import draw_state
from supervision.planning.models import (
    Batch,
    Commitment,
    Draw,
    DrawEvent,
    Plan,
)
from supervision.planning.service import get_batch
from supervision.storage.artefacts import content_key
from supervision.storage.service import get_bytes, stored_path

# ---- bundle --------------------------------------------------------------------------------


def bundle_meta(session: Session, batch: Batch, draw: Draw) -> dict[str, Any]:
    plan = session.get(Plan, batch.plan_id)
    c = session.get(Commitment, draw.commitment_id)
    meta: dict[str, Any] = {
        "batch_name": batch.name,
        "authority": plan.authority,
        "committed_at": c.published_at.isoformat(),
        "drawn_at": draw.drawn_at.isoformat(),
    }
    if batch.ceremony_at is not None:
        meta["ceremony"] = {
            "announced_at": batch.ceremony_at.isoformat(),
            "place": batch.ceremony_place,
            "source": batch.entropy_source,
            "witnesses": json.loads(draw.witnesses_json),
        }
        if draw.late_reason:
            meta["ceremony"]["late_reason"] = draw.late_reason
    # The audit log's row of this draw, as an anchor: whoever keeps the bundle can later prove
    # that the log held this row with this hash (`supervision audit verify --anchors`).
    row = session.exec(
        select(AuditEntry.id, AuditEntry.hash)
        .where(AuditEntry.action == "planning.batch.draw", AuditEntry.object_key == batch.code)
        .order_by(col(AuditEntry.id).desc())
        .limit(1)
    ).first()
    if row is not None:
        entries = session.exec(
            select(func.count()).select_from(AuditEntry).where(col(AuditEntry.id) <= row[0])
        ).one()
        meta["audit_anchor"] = {
            "anchored_on": draw.drawn_at.date().isoformat(),
            "entry_id": row[0],
            "entries": entries,
            "hash": row[1],
        }
    return meta


@dataclass
class BundleFiles:
    """The bundle and its frozen files, as stored: pool.tsv and strata.tsv may be gigabytes,
    so they are paths (``pool_path``), read whole only when asked (``pool``)."""

    bundle: dict[str, Any]
    pool_path: Path
    roster: bytes
    conflicts: bytes
    strata_path: Path | None = None  # sr2's private strata.tsv

    @property
    def pool(self) -> bytes:
        return self.pool_path.read_bytes()

    @property
    def strata(self) -> bytes | None:
        return None if self.strata_path is None else self.strata_path.read_bytes()


# Rebuilding a million-entity draw takes seconds; a bundle is fully determined by its
# commitment, seed, last chain link and meta, so recently served bundles are kept (the
# dicts only: the frozen files are read back from storage, which is fast). Never mutated.
_BUNDLE_CACHE: OrderedDict[tuple[str, ...], dict[str, Any]] = OrderedDict()
_BUNDLE_CACHE_SIZE = 8


def _key(session: Session, batch: Batch, draw: Draw, c: Commitment) -> tuple[str, ...]:
    last = session.exec(
        select(DrawEvent.chain)
        .where(DrawEvent.draw_id == draw.id)
        .order_by(col(DrawEvent.seq).desc())
        .limit(1)
    ).first()
    meta = bundle_meta(session, batch, draw)
    return (c.commitment, draw.seed, last or "", sr1.canonical_json(meta))


def bundle_key(session: Session, code: str) -> str:
    """What fully determines a drawn batch's public bundle, as one digest: a few small queries,
    so a request can ask for the stored artefact without rebuilding anything."""
    batch = get_batch(session, code)
    draw = get_draw(session, batch)
    return content_key(
        "bundle", code, *_key(session, batch, draw, session.get(Commitment, draw.commitment_id))
    )


def export_bundle(session: Session, code: str, *, storage: Path) -> BundleFiles:
    """The sr1 bundle of a drawn batch as it stands now (events included)."""
    batch = get_batch(session, code)
    draw = get_draw(session, batch)
    c = session.get(Commitment, draw.commitment_id)
    meta = bundle_meta(session, batch, draw)
    key = _key(session, batch, draw, c)
    if key in _BUNDLE_CACHE:
        _BUNDLE_CACHE.move_to_end(key)
    else:
        bundle = draw_state(session, batch, storage)[1].to_bundle(meta)
        if draw.beacon_json is not None:  # the round as the beacon served it, verbatim
            bundle["beacon"] = draw.beacon_json
        _BUNDLE_CACHE[key] = bundle
        if len(_BUNDLE_CACHE) > _BUNDLE_CACHE_SIZE:
            _BUNDLE_CACHE.popitem(last=False)
    params = json.loads(c.params_json)
    return BundleFiles(
        _BUNDLE_CACHE[key],
        stored_path(storage, c.pool_sha256),
        get_bytes(storage, c.roster_sha256),
        get_bytes(storage, c.conflicts_sha256),
        stored_path(storage, params["strata_sha256"]) if "strata_sha256" in params else None,
    )


def write_bundle_dir(files: BundleFiles, out: Path, *, with_private: bool) -> None:
    """Write the bundle folder; conflicts.tsv and strata.tsv only when asked (private)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "bundle.json").write_text(
        json.dumps(files.bundle, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    shutil.copyfile(files.pool_path, out / "pool.tsv")
    (out / "roster.tsv").write_bytes(files.roster)
    if with_private:
        (out / "conflicts.tsv").write_bytes(files.conflicts)
    elif (out / "conflicts.tsv").exists():
        (out / "conflicts.tsv").unlink()
    if with_private and files.strata_path is not None:
        shutil.copyfile(files.strata_path, out / "strata.tsv")
    elif (out / "strata.tsv").exists():
        (out / "strata.tsv").unlink()
