"""Properties of the draw on random batches, and equality with a literal reading of §6–§7."""

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.draw import sr1
from supervision.draw.verify import verify_bundle

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
UNITS = ("652301-01", "652301-02", "652301-03")
ENTROPY_CHARS = "0123456789 abc体彩排列期:"
FAST = settings(max_examples=60, deadline=None)

Batch = dict[str, Any]


@st.composite
def batches(draw: st.DrawFn, simple: bool = False) -> Batch:
    """A random batch; ``simple``: one group, one slot, no unit rule, conflicts or max_load."""
    usccs = draw(
        st.lists(st.text(USCC_CHARS, min_size=4, max_size=4), min_size=1, max_size=30, unique=True)
    )
    pool = [
        ("91652301" + u, draw(st.sampled_from("ABCD")), draw(st.sampled_from(UNITS))) for u in usccs
    ]
    size = draw(st.integers(1, 9))
    roster = [
        (
            f"652301{n:05d}",
            "SCJ" if simple else draw(st.sampled_from(("SCJ", "WJW"))),
            draw(st.sampled_from(UNITS)),
            () if simple else draw(st.sets(st.sampled_from(("food", "price")))),
        )
        for n in range(size)
    ]
    conflicts = (
        []
        if simple
        else draw(
            st.lists(
                st.tuples(st.sampled_from([r[0] for r in roster]), st.sampled_from(pool)),
                max_size=12,
            ).map(lambda pairs: sorted({(i, entity[0]) for i, entity in pairs}))
        )
    )
    sizes = Counter(stratum for _, stratum, _ in pool)
    slot = st.fixed_dictionaries(
        {
            "group": st.sampled_from(("SCJ", "WJW")),
            "count": st.integers(1, 3),
            "qualification": st.sampled_from((None, "food")),
        }
    )
    team = (
        [{"group": "SCJ", "count": draw(st.integers(1, size)), "qualification": None}]
        if simple
        else draw(st.lists(slot, min_size=1, max_size=2))
    )
    base = {
        "protocol": "sr1",
        "batch": "P-1",
        "quotas": {s: draw(st.integers(0, n)) for s, n in sizes.items()},
        "team": team,
        "cross_unit": False if simple else draw(st.booleans()),
        "max_load": None if simple else draw(st.none() | st.integers(1, 4)),
        "entropy_plan": "",
    }
    files = {
        "pool": sr1.encode_pool(pool),
        "roster": sr1.encode_roster(roster),
        "conflicts": sr1.encode_conflicts(conflicts),
    }
    entropy = draw(st.lists(st.text(ENTROPY_CHARS, min_size=1, max_size=6), min_size=1, max_size=2))
    return {"files": files, "base": base, "entropy": entropy}


def make_draw(batch: Batch) -> sr1.Draw:
    files = batch["files"]
    params = sr1.build_params(batch["base"], files["pool"], files["roster"], files["conflicts"])
    return sr1.Draw(
        params,
        batch["entropy"],
        sr1.parse_pool(files["pool"]),
        sr1.parse_roster(files["roster"]),
        sr1.conflicts_by_entity(sr1.parse_conflicts(files["conflicts"])),
    )


def random_events(data: st.DataObject, draw: sr1.Draw, how_many: int) -> list[dict[str, Any]]:
    """Valid events chosen against the draw's current state, applied as they are chosen."""
    for seq in range(1, how_many + 1):
        current = draw.final()
        staffed = [entry for entry in current if entry["team"]]
        if not current:
            break
        if staffed and data.draw(st.booleans()):
            entry = data.draw(st.sampled_from(staffed))
            event = {"seq": seq, "type": "recuse", "uscc": entry["uscc"]}
            event["inspector"] = data.draw(st.sampled_from(entry["team"]))
        else:
            event = {"seq": seq, "type": "replace_entity", "uscc": current[0]["uscc"]}
            event["uscc"] = data.draw(st.sampled_from(current))["uscc"]
        event["reason"] = "回避"
        draw.apply_event(event)
    return [{k: v for k, v in e.items() if k not in ("outcome", "chain")} for e in draw.events]


# --- A literal reading of the protocol, for comparison ------------------------------------------


def naive_bundle(batch: Batch, events: list[dict[str, Any]]) -> dict[str, Any]:
    """§6 and §7 word for word: every ticket computed, every eligible inspector ranked."""
    files = batch["files"]
    params = sr1.build_params(batch["base"], files["pool"], files["roster"], files["conflicts"])
    H = sr1.H
    seed = H("\n".join([H(sr1.canonical_json(params)), *batch["entropy"]]))
    pool = list(sr1.parse_pool(files["pool"]).records())
    roster = sr1.parse_roster(files["roster"])
    conflicts = set(sr1.parse_conflicts(files["conflicts"]))
    stratum_of = {u: s for u, s, _ in pool}
    unit_of = {u: unit for u, _, unit in pool}

    def entity_key(u: str) -> tuple[str, str]:
        return H(f"{seed}:E:{u}"), u

    ranked = {
        s: sorted((u for u, t, _ in pool if t == s), key=entity_key) for s in stratum_of.values()
    }
    quotas = params["quotas"]
    selected = sorted((u for s, us in ranked.items() for u in us[: quotas[s]]), key=entity_key)
    reserve = {s: us[quotas[s] :] for s, us in ranked.items()}
    slot_of_place = [slot for slot in params["team"] for _ in range(slot["count"])]
    load = {i.inspector_id: 0 for i in roster}
    recused: set[tuple[str, str]] = set()
    recusals: Counter[str] = Counter()

    def eligible(slot: dict[str, Any], u: str, team: list[Any]) -> list[str]:
        return [
            i.inspector_id
            for i in roster
            if i.group == slot["group"]
            and (slot["qualification"] is None or slot["qualification"] in i.qualifications)
            and not (params["cross_unit"] and i.unit == unit_of[u])
            and (i.inspector_id, u) not in conflicts | recused
            and i.inspector_id not in team
            and (params["max_load"] is None or load[i.inspector_id] < params["max_load"])
        ]

    def pair(u: str) -> list[str]:
        team: list[str] = []
        for slot in params["team"]:
            ranking = sorted(
                eligible(slot, u, team), key=lambda i: (load[i], H(f"{seed}:I:{u}:{i}"), i)
            )
            if len(ranking) < slot["count"]:
                return []
            team += ranking[: slot["count"]]
        for i in team:
            load[i] += 1
        return team

    teams = {u: pair(u) for u in selected}
    drawn = [
        {
            "uscc": u,
            "stratum": stratum_of[u],
            "ticket": entity_key(u)[0],
            "team": list(teams[u]),
            "unassigned": not teams[u],
        }
        for u in selected
    ]
    ever = list(selected)
    chain, published = seed, []
    for event in events:
        u = event["uscc"]
        if event["type"] == "recuse":
            i = event["inspector"]
            place = teams[u].index(i)
            load[i] -= 1
            recused.add((i, u))
            recusals[u] += 1
            ranking = sorted(
                eligible(slot_of_place[place], u, teams[u]),
                key=lambda j: (load[j], H(f"{seed}:R:{u}:{recusals[u]}:{j}"), j),
            )
            teams[u][place] = ranking[0] if ranking else None
            if ranking:
                load[ranking[0]] += 1
            outcome: dict[str, Any] = {"replacement": teams[u][place]}
        else:
            for i in teams.pop(u):
                if i is not None:
                    load[i] -= 1
            if reserve[stratum_of[u]]:
                new = reserve[stratum_of[u]].pop(0)
                teams[new] = pair(new)
                ever.append(new)
                outcome = {
                    "replacement_uscc": new,
                    "team": list(teams[new]),
                    "unassigned": not teams[new],
                }
            else:
                outcome = {"replacement_uscc": None}
        chain = H(chain + "\n" + sr1.canonical_json(event))
        published.append({**event, "outcome": outcome, "chain": chain})
    return {
        "seed": seed,
        "selected": drawn,
        "excluded_by_conflict": {
            u: sorted(i for i, v in conflicts if v == u)
            for u in ever
            if any(v == u for _, v in conflicts)
        },
        "events": published,
        "final": [
            {"uscc": u, "team": [i for i in team if i is not None]} for u, team in teams.items()
        ],
    }


# --- Properties -------------------------------------------------------------------------------


@FAST
@given(batches(), st.data())
def test_optimised_draw_equals_the_literal_reading(batch: Batch, data: st.DataObject) -> None:
    draw = make_draw(batch)
    events = random_events(data, draw, data.draw(st.integers(0, 6)))
    bundle = draw.to_bundle()
    naive = naive_bundle(batch, events)
    for key in naive:
        assert sr1.canonical_json(bundle[key]) == sr1.canonical_json(naive[key]), key


@FAST
@given(batches())
def test_quotas_are_met_in_every_stratum(batch: Batch) -> None:
    draw = make_draw(batch)
    pool = sr1.parse_pool(batch["files"]["pool"])
    stratum_of = dict(zip(pool.usccs, pool.strata, strict=True))
    selected = draw.selected()
    assert Counter(e["stratum"] for e in selected) == +Counter(draw.params["quotas"])
    assert all(stratum_of[e["uscc"]] == e["stratum"] for e in selected)
    assert [e["ticket"] for e in selected] == sorted(e["ticket"] for e in selected)


@FAST
@given(batches(), st.data())
def test_teams_obey_every_rule(batch: Batch, data: st.DataObject) -> None:
    draw = make_draw(batch)
    files = batch["files"]
    pool = sr1.parse_pool(files["pool"])
    unit_of_entity = dict(zip(pool.usccs, pool.units, strict=True))
    inspectors = {i.inspector_id: i for i in sr1.parse_roster(files["roster"])}
    conflicts = set(sr1.parse_conflicts(files["conflicts"]))
    params = draw.params
    places = [slot for slot in params["team"] for _ in range(slot["count"])]

    def check(teams: list[tuple[str, list[str | None]]], allow_empty_places: bool) -> None:
        for uscc, team in teams:
            assert len(set(i for i in team if i)) == len([i for i in team if i])
            for slot, member in zip(places, team, strict=False):
                if member is None:
                    assert allow_empty_places
                    continue
                inspector = inspectors[member]
                assert (member, uscc) not in conflicts
                assert inspector.group == slot["group"]
                assert slot["qualification"] in (None, *inspector.qualifications)
                if params["cross_unit"]:
                    assert inspector.unit != unit_of_entity[uscc]
        loads = Counter(i for _, team in teams for i in team if i)
        if params["max_load"] is not None:
            assert max(loads.values(), default=0) <= params["max_load"]

    selected = draw.selected()
    for entry in selected:
        assert entry["unassigned"] == (entry["team"] == [])
        assert entry["unassigned"] or len(entry["team"]) == len(places)
    check([(e["uscc"], e["team"]) for e in selected], allow_empty_places=False)
    random_events(data, draw, data.draw(st.integers(0, 4)))
    # Rebuild the teams place by place from the outcomes: final drops empty places.
    teams = {e["uscc"]: list(e["team"]) for e in selected}
    for event in draw.events:
        outcome = event["outcome"]
        if event["type"] == "recuse":
            team = teams[event["uscc"]]
            team[team.index(event["inspector"])] = outcome["replacement"]
        else:
            del teams[event["uscc"]]
            if outcome["replacement_uscc"] is not None:
                teams[outcome["replacement_uscc"]] = list(outcome["team"])
    check(list(teams.items()), allow_empty_places=True)
    final = [(uscc, [i for i in team if i]) for uscc, team in teams.items()]
    assert [(e["uscc"], e["team"]) for e in draw.final()] == final
    assert +Counter(draw.loads) == Counter(i for _, team in final for i in team)


@FAST
@given(batches(simple=True))
def test_loads_differ_by_at_most_one_without_constraints(batch: Batch) -> None:
    loads = make_draw(batch).loads.values()
    assert max(loads) - min(loads) <= 1


@FAST
@given(batches(), st.data())
def test_same_inputs_always_give_the_same_bundle_and_it_verifies(
    batch: Batch, data: st.DataObject
) -> None:
    draw = make_draw(batch)
    events = random_events(data, draw, data.draw(st.integers(0, 3)))
    files = batch["files"]
    bundle = sr1.run(
        files["pool"], files["roster"], files["conflicts"], batch["base"], batch["entropy"], events
    )
    assert sr1.canonical_json(bundle) == sr1.canonical_json(draw.to_bundle())
    result = verify_bundle(bundle, files["pool"], files["roster"], files["conflicts"])
    assert result.ok, result.first_difference
    private = verify_bundle(bundle, files["pool"], files["roster"])
    assert private.ok, private.first_difference


def test_a_long_run_of_withdrawals_reaches_past_the_sorted_head() -> None:
    pool = [(f"91652301{n:010d}", "A", UNITS[n % 3]) for n in range(300)]
    roster = [(f"652301{n:05d}", "SCJ", UNITS[n % 3], ()) for n in range(4)]
    batch = {
        "files": {
            "pool": sr1.encode_pool(pool),
            "roster": sr1.encode_roster(roster),
            "conflicts": b"",
        },
        "base": {
            "protocol": "sr1",
            "batch": "P-2",
            "quotas": {"A": 2},
            "team": [{"group": "SCJ", "count": 2, "qualification": None}],
            "cross_unit": True,
            "max_load": None,
            "entropy_plan": "",
        },
        "entropy": ["0"],
    }
    draw = make_draw(batch)
    assert draw.stats.entity_tickets == 300
    assert len(draw._strata["A"].ranked) < 300  # only the head was sorted
    for seq in range(1, 61):
        newest = draw.final()[-1]["uscc"]
        draw.apply_event({"seq": seq, "type": "replace_entity", "uscc": newest, "reason": "注销"})
    # The first withdrawals came from the head sorted at selection; later ones needed the rest.
    assert draw.stats.entity_tickets == 600
    events = [{k: v for k, v in e.items() if k not in ("outcome", "chain")} for e in draw.events]
    naive = naive_bundle(batch, events)
    bundle = draw.to_bundle()
    for key in naive:
        assert sr1.canonical_json(bundle[key]) == sr1.canonical_json(naive[key]), key


def _selection_draw(labels: list[str], quotas: dict[str, int]) -> sr1.Draw:
    pool = sr1.encode_pool(
        (f"91652301MA{n:08d}", label, UNITS[n % 3]) for n, label in enumerate(labels)
    )
    roster = sr1.encode_roster([("652301-I1", "SCJ", UNITS[0], ())])
    base = {
        "protocol": "sr1",
        "batch": "HEADS",
        "quotas": quotas,
        "team": [{"group": "SCJ", "count": 1, "qualification": None}],
        "cross_unit": False,
        "max_load": None,
        "entropy_plan": "",
    }
    params = sr1.build_params(base, pool, roster, b"")
    return sr1.Draw(params, ["heads"], sr1.parse_pool(pool), sr1.parse_roster(roster), {})


def _stratum_order(draw: sr1.Draw, labels: list[str], stratum: str) -> list[tuple[bytes, str]]:
    usccs = [f"91652301MA{n:08d}" for n, label in enumerate(labels) if label == stratum]
    return sorted((bytes.fromhex(sr1.entity_ticket(draw.seed, u)), u) for u in usccs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from("ABC"), min_size=1, max_size=60), st.data())
def test_ranked_heads_are_prefixes_of_each_stratum_order(
    labels: list[str], data: st.DataObject
) -> None:
    sizes = Counter(labels)
    quotas = {s: data.draw(st.integers(0, n)) for s, n in sorted(sizes.items())}
    draw = _selection_draw(labels, quotas)
    assert set(draw._strata) == {s for s, q in quotas.items() if q > 0}
    for stratum, ranked in ((s, r.ranked) for s, r in draw._strata.items()):
        assert len(ranked) >= quotas[stratum]
        assert ranked == _stratum_order(draw, labels, stratum)[: len(ranked)]


def test_a_short_head_falls_back_to_ranking_the_stratum_whole(monkeypatch) -> None:
    # A bound that keeps nothing (as tickets bunched at the top of the range would).
    monkeypatch.setattr(
        sr1, "_head_bounds", lambda sizes, quotas: {s: bytes(32) for s, q in quotas.items() if q}
    )
    labels = ["A"] * 200
    draw = _selection_draw(labels, {"A": 5})
    assert draw._strata["A"].ranked == _stratum_order(draw, labels, "A")


def test_fast_tickets_equal_the_defining_formula() -> None:
    seed = sr1.H("x")
    assert sr1._ticket_digests(f"{seed}:E:", ["91652301A"])[0].hex() == sr1.H(f"{seed}:E:91652301A")
    assert sr1.pairing_ticket(seed, "U", "I") == sr1.H(f"{seed}:I:U:I")
    assert sr1.replacement_ticket(seed, "U", 2, "I") == sr1.H(f"{seed}:R:U:2:I")
