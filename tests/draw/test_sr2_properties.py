"""sr2 on random batches: the selection per stratum is sr1's with salted tickets, the order is
the public TP order, and the verifier accepts exactly what the draw produced — fully with
strata.tsv, as far as the public can without it."""

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.draw import sr1
from supervision.draw.verify import verify_bundle
from tests.draw.test_sr1_properties import batches, random_events

FAST = settings(max_examples=60, deadline=None)
HEX = "0123456789abcdef"


def seal(data: st.DataObject, batch: dict[str, Any]) -> dict[str, Any]:
    """The same batch under sr2: salts drawn, tags in pool.tsv, strata in strata.tsv."""
    pool = sr1.parse_pool(batch["files"]["pool"])
    salts = [data.draw(st.text(HEX, min_size=32, max_size=32)) for _ in pool.usccs]
    strata_bytes = sr1.encode_strata(zip(pool.usccs, pool.strata, salts, strict=True))
    tags = sr1.tags(pool.usccs, pool.strata, salts)
    pool_bytes = sr1.encode_pool(zip(pool.usccs, tags, pool.units, strict=True))
    return {
        **batch,
        "files": {**batch["files"], "pool": pool_bytes, "strata": strata_bytes},
        "base": {**batch["base"], "protocol": "sr2"},
        "unsealed": pool,
        "salts": dict(zip(pool.usccs, salts, strict=True)),
    }


def sealed_draw(sealed: dict[str, Any]) -> sr1.Draw:
    files = sealed["files"]
    params = sr1.build_params(
        sealed["base"], files["pool"], files["roster"], files["conflicts"], files["strata"]
    )
    return sr1.Draw(
        params,
        sealed["entropy"],
        sr1.parse_pool(files["pool"]),
        sr1.parse_roster(files["roster"]),
        sr1.conflicts_by_entity(sr1.parse_conflicts(files["conflicts"])),
        sr1.parse_strata(files["strata"]),
    )


@FAST
@given(batches(), st.data())
def test_selection_per_stratum_is_sr1s_with_salted_tickets(batch, data) -> None:  # noqa: ANN001
    sealed = seal(data, batch)
    draw = sealed_draw(sealed)
    pool, salts = sealed["unsealed"], sealed["salts"]
    stratum_of = dict(zip(pool.usccs, pool.strata, strict=True))
    chosen = [entry["uscc"] for entry in draw.selected()]
    for stratum, quota in sealed["base"]["quotas"].items():
        members = [u for u in pool.usccs if stratum_of[u] == stratum]
        ranked = sorted(
            members, key=lambda u: (sr1.sealed_entity_ticket(draw.seed, u, salts[u]), u)
        )
        assert {u for u in chosen if stratum_of[u] == stratum} == set(ranked[:quota])
    assert chosen == sorted(chosen, key=lambda u: (sr1.order_ticket(draw.seed, u), u))
    assert all(sorted(entry) == ["team", "unassigned", "uscc"] for entry in draw.selected())


@FAST
@given(batches(), st.data())
def test_the_verifier_accepts_exactly_the_draw(batch, data) -> None:  # noqa: ANN001
    sealed = seal(data, batch)
    draw = sealed_draw(sealed)
    events = random_events(data, draw, data.draw(st.integers(0, 3)))
    files = sealed["files"]
    bundle = json.loads(
        json.dumps(
            sr1.run(
                files["pool"],
                files["roster"],
                files["conflicts"],
                sealed["base"],
                sealed["entropy"],
                events,
                strata_bytes=files["strata"],
            )
        )
    )
    auditor = verify_bundle(
        bundle, files["pool"], files["roster"], files["conflicts"], files["strata"]
    )
    assert auditor.ok, auditor.first_difference
    assert auditor.unchecked == ()
    public = verify_bundle(bundle, files["pool"], files["roster"], None)
    assert public.ok, public.first_difference
    assert public.unchecked  # and it says what it could not check
    if len(bundle["selected"]) > 1:
        swapped = json.loads(json.dumps(bundle))
        swapped["selected"][0], swapped["selected"][1] = (
            swapped["selected"][1],
            swapped["selected"][0],
        )
        assert not verify_bundle(swapped, files["pool"], files["roster"], None).ok
