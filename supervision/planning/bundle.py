"""The published bundle of a drawn batch, rebuilt from the frozen files and cached by its
content (commitment, seed, last chain link, meta)."""

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from supervision.draw import sr1
from supervision.planning.drawing import frozen_inputs, frozen_strata, get_draw
from supervision.planning.events import draw_events, draw_state
from supervision.planning.models import (
    Batch,
    Commitment,
    Draw,
    Plan,
)
from supervision.planning.service import get_batch

# ---- bundle --------------------------------------------------------------------------------


def bundle_meta(session: Session, batch: Batch, draw: Draw) -> dict[str, Any]:
    plan = session.get(Plan, batch.plan_id)
    c = session.get(Commitment, draw.commitment_id)
    return {
        "batch_name": batch.name,
        "authority": plan.authority,
        "committed_at": c.published_at.isoformat(),
        "drawn_at": draw.drawn_at.isoformat(),
    }


@dataclass
class BundleFiles:
    bundle: dict[str, Any]
    pool: bytes
    roster: bytes
    conflicts: bytes
    strata: bytes | None = None  # sr2's private strata.tsv


# Rebuilding a million-entity draw takes seconds; a bundle is fully determined by its
# commitment, seed, last chain link and meta, so recently served bundles are kept (the
# dicts only: the frozen files are read back from storage, which is fast). Never mutated.
_BUNDLE_CACHE: OrderedDict[tuple[str, ...], dict[str, Any]] = OrderedDict()
_BUNDLE_CACHE_SIZE = 8


def export_bundle(session: Session, code: str, *, storage: Path) -> BundleFiles:
    """The sr1 bundle of a drawn batch as it stands now (events included)."""
    batch = get_batch(session, code)
    draw = get_draw(session, batch)
    c = session.get(Commitment, draw.commitment_id)
    meta = bundle_meta(session, batch, draw)
    events = draw_events(session, draw)
    key = (c.commitment, draw.seed, events[-1].chain if events else "", sr1.canonical_json(meta))
    if key in _BUNDLE_CACHE:
        _BUNDLE_CACHE.move_to_end(key)
    else:
        _BUNDLE_CACHE[key] = draw_state(session, batch, storage)[1].to_bundle(meta)
        if len(_BUNDLE_CACHE) > _BUNDLE_CACHE_SIZE:
            _BUNDLE_CACHE.popitem(last=False)
    return BundleFiles(_BUNDLE_CACHE[key], *frozen_inputs(storage, c), frozen_strata(storage, c))


def write_bundle_dir(files: BundleFiles, out: Path, *, with_private: bool) -> None:
    """Write the bundle folder; conflicts.tsv and strata.tsv only when asked (private)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "bundle.json").write_text(
        json.dumps(files.bundle, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    (out / "pool.tsv").write_bytes(files.pool)
    (out / "roster.tsv").write_bytes(files.roster)
    private = {"conflicts.tsv": files.conflicts, "strata.tsv": files.strata}
    for name, data in private.items():
        if with_private and data is not None:
            (out / name).write_bytes(data)
        elif (out / name).exists():
            (out / name).unlink()
