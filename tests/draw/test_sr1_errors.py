"""Inputs that break the contract are refused with a message a person can act on."""

import copy
import unicodedata
from typing import Any

import pytest

from supervision.draw import sr1

from .test_sr1_vectors import read_input

POOL = b"91652301A\tA\tU1\n91652301B\tB\tU2\n91652301C\tA\tU1\n"
ROSTER = b"I1\tSCJ\tU1\t\nI2\tSCJ\tU2\tfood\nI3\tSCJ\tU3\tfood,price\n"
BASE = {
    "protocol": "sr1",
    "batch": "T-1",
    "quotas": {"A": 1, "B": 1},
    "team": [{"group": "SCJ", "count": 1, "qualification": None}],
    "cross_unit": True,
    "max_load": None,
    "entropy_plan": "dice",
}


# --- TSV files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"91652301B\tB\tU2\n91652301A\tA\tU1\n", 2, "not sorted: USCC '91652301A' must come"),
        (b"91652301A\tA\tU1\n91652301A\tB\tU2\n", 2, "duplicate USCC '91652301A'"),
        (b"91652301A\tA\tU\t1\n", 1, "expected 3 fields separated by TAB, found 4"),
        (b"91652301A\tA\n", 1, "expected 3 fields separated by TAB, found 2"),
        (b"91652301A\tA\tU1\r\n", 1, "carriage return"),
        (b"91652301A\tA\tU1\n91652301B\tA\tU1\r\n", 2, "carriage return"),
        (b"\xef\xbb\xbf91652301A\tA\tU1\n", 1, "byte-order mark"),
        (b"91652301A\tA\tU1\n91652301B\tA\tU1", 2, "does not end with LF"),
        ("91652301A\tA\tU1\n91652301B\tA\t站e\u0301\n".encode(), 2, "not in Unicode NFC"),
        (b"91652301A\tA\tU1\n\xff\tA\tU1\n", 2, "not valid UTF-8"),
        (b"91652301A\t\tU1\n", 1, "STRATUM is empty"),
        (b"91652301A\tA\tU1\n\n", 2, "expected 3 fields"),
    ],
)
def test_a_bad_pool_file_is_refused_naming_file_line_and_reason(
    data: bytes, line: int, reason: str
) -> None:
    with pytest.raises(sr1.TsvError) as caught:
        sr1.parse_pool(data)
    assert (caught.value.file, caught.value.line) == ("pool.tsv", line)
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"pool.tsv line {line}: ")


def test_an_empty_file_is_an_empty_list() -> None:
    assert len(sr1.parse_pool(b"")) == 0
    assert sr1.parse_conflicts(b"") == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"I1\tSCJ\tU1\tprice,food\n", "QUALIFICATIONS 'price,food' must be distinct"),
        (b"I1\tSCJ\tU1\tfood,food\n", "must be distinct"),
        (b"I1\tSCJ\tU1\tfood,\n", "must be distinct"),
        (b"I2\tSCJ\tU1\t\nI1\tSCJ\tU1\t\n", "not sorted"),
        (b"I1\t\tU1\t\n", "GROUP is empty"),
    ],
)
def test_a_bad_roster_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(sr1.TsvError, match="^roster.tsv line") as caught:
        sr1.parse_roster(data)
    assert reason in caught.value.reason


def test_conflicts_must_be_sorted_by_inspector_then_uscc() -> None:
    with pytest.raises(sr1.TsvError, match="line 2: not sorted"):
        sr1.parse_conflicts(b"I1\tU2\nI1\tU1\n")
    with pytest.raises(sr1.TsvError, match="line 2: duplicate"):
        sr1.parse_conflicts(b"I1\tU1\nI1\tU1\n")
    # Pair order, not line text order: "I1" sorts before "I1\x01" although TAB > 0x01.
    assert sr1.parse_conflicts(b"I1\tU9\nI1\x01\tU1\n") == [("I1", "U9"), ("I1\x01", "U1")]


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([("91652301A", "A", "U1"), ("91652301A", "B", "U1")], "duplicate USCC"),
        ([("91652301A", "A\tX", "U1")], "record ('91652301A', 'A\\tX', 'U1'): expected 3 fields"),
        ([("91652301A", "A", "U1\n")], "expected 3 fields"),
        ([("91652301A", "A", "e\u0301")], "not in Unicode NFC"),
        ([("91652301A", "A")], "must have 3 fields"),
        ([("91652301A", "A", 7)], "every field must be a string"),
    ],
)
def test_encoders_validate_what_they_write(records: list[tuple[Any, ...]], message: str) -> None:
    with pytest.raises(sr1.Sr1Error, match="^pool.tsv: ") as caught:
        sr1.encode_pool(records)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("records", "line", "message"),
    [
        ([("91652301A", "A", "U1"), ("91652301A", "B", "U1")], 2, "duplicate USCC"),
        ([("91652301A", "A\tX", "U1")], 1, "STRATUM must be non-empty NFC text"),
        ([("91652301A", "A", "U1"), ("91652301B", "A", "U1\n")], 2, "UNIT must be"),
        ([("91652301A", "A", "e\u0301")], 1, "UNIT must be non-empty NFC"),
        ([("91652301A", "", "U1")], 1, "STRATUM must be non-empty"),
        ([("9165\r2301A", "A", "U1")], 1, "USCC must be"),
    ],
)
def test_pool_columns_are_checked_as_the_file_would_be(
    records: list[tuple[str, ...]], line: int, message: str
) -> None:
    """The freeze writes pool.tsv from columns and checks the columns, not the file read
    back: the same rules, the same line numbers — and parse_pool agrees on what it refuses."""
    pool = sr1.pool_columns(records)
    with pytest.raises(sr1.TsvError, match=f"pool.tsv line {line}: .*{message}"):
        sr1.check_pool_columns(pool)
    with pytest.raises(sr1.TsvError):
        sr1.parse_pool(sr1.encode_pool_columns(pool))
    good = sr1.pool_columns([("91652301B", "A", "U2"), ("91652301A", "B", "U1")])
    sr1.check_pool_columns(good)
    assert sr1.parse_pool(sr1.encode_pool_columns(good)) == good


def test_encoders_canonicalise_qualifications() -> None:
    data = sr1.encode_roster([("I2", "SCJ", "U", "price,food"), ("I1", "WJW", "U", {"food"})])
    assert data == b"I1\tWJW\tU\tfood\nI2\tSCJ\tU\tfood,price\n"


# --- Parameters -----------------------------------------------------------------------------


def params_with(**changes: Any) -> dict[str, Any]:
    base = copy.deepcopy(BASE)
    base.update(changes)
    return base


def build(base: dict[str, Any]) -> dict[str, Any]:
    return sr1.build_params(base, POOL, ROSTER, b"")


def test_valid_params_get_the_file_fields() -> None:
    params = build(BASE)
    assert params["pool_size"] == 3
    assert params["pool_sha256"] == sr1.digest_bytes(POOL)
    assert params["conflicts_sha256"] == sr1.H("")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quotas": {"A": 3, "B": 1}}, "params.quotas['A'] must be an integer from 0 to 2"),
        ({"quotas": {"A": -1, "B": 1}}, "params.quotas['A'] must be an integer from 0 to 2"),
        ({"quotas": {"A": 1}}, "stratum 'B' has 1 entities in the pool but no quota"),
        ({"quotas": {"A": 1, "B": 1, "C": 0}}, "'C' is not a stratum of the pool"),
        ({"quotas": {"A": 1.0, "B": 1}}, "params.quotas['A'] must be an integer"),
        ({"quotas": {"A": True, "B": 1}}, "params.quotas['A'] must be an integer"),
        (
            {"team": [{"group": "SCJ", "count": 0, "qualification": None}]},
            "params.team[0].count must be an integer >= 1, not 0",
        ),
        ({"team": []}, "params.team must be a non-empty list"),
        ({"team": [{"group": "SCJ", "count": 1}]}, "params.team[0] must be an object with"),
        ({"max_load": 1.5}, "params.max_load must be null or an integer >= 1, not 1.5"),
        ({"max_load": 0}, "params.max_load must be null or an integer >= 1, not 0"),
        ({"cross_unit": 1}, "params.cross_unit must be true or false"),
        ({"protocol": "sr3"}, "params.protocol must be 'sr1' or 'sr2', not 'sr3'"),
        # sr2 is a protocol now (sealed strata), and it needs the private strata file.
        ({"protocol": "sr2"}, "protocol sr2 needs strata.tsv"),
        ({"batch": ""}, "params.batch must not be empty"),
        ({"colour": "red"}, "params have unexpected keys: colour"),
        ({"pool_size": 3}, "base params must not contain pool_size"),
    ],
)
def test_bad_params_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(sr1.ParamsError) as caught:
        build(params_with(**changes))
    assert message in str(caught.value)


def test_a_missing_param_is_named() -> None:
    base = params_with()
    del base["max_load"]
    with pytest.raises(sr1.ParamsError, match="params lack max_load"):
        build(base)


def test_canonical_json_refuses_floats_and_odd_values() -> None:
    with pytest.raises(sr1.Sr1Error, match=r"\$\.a\[1\]: 0\.5 is a float"):
        sr1.canonical_json({"a": [1, 0.5]})
    with pytest.raises(sr1.Sr1Error, match="not a string"):
        sr1.canonical_json({1: "x"})
    with pytest.raises(sr1.Sr1Error, match="set is not a JSON value"):
        sr1.canonical_json({"a": {1}})
    assert sr1.canonical_json({"b": "站", "a": [True, None]}) == '{"a":[true,null],"b":"站"}'


@pytest.mark.parametrize(
    ("n_s", "percent", "quota"),
    [
        (1000, "3", 30),
        (1001, "3", 31),
        (100, "3.5", 4),
        (200, "3.5", 7),
        (1_000_000, "0.0001", 1),
        (3, "33.333333333333333333", 1),
        (3, "33.3333333333333333334", 2),
        (7, "100", 7),
        (7, "150", 7),
        (0, "3", 0),
        (5, "0", 0),
        (40, 5, 2),
    ],
)
def test_quota_from_ratio_is_exact(n_s: int, percent: str, quota: int) -> None:
    assert sr1.quota_from_ratio(n_s, percent) == quota


@pytest.mark.parametrize("percent", [0.035, "abc", "-1", "NaN", "Infinity", None])
def test_quota_from_ratio_refuses_bad_percents(percent: Any) -> None:
    with pytest.raises(sr1.ParamsError):
        sr1.quota_from_ratio(100, percent)


# --- Entropy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entropy", "message"),
    [
        ([], "non-empty list"),
        ("3 6 1", "non-empty list"),
        ([""], "entropy[0] must be a non-empty string"),
        (["1 2", 3], "entropy[1] must be a non-empty string"),
        (["1 2\n3 4"], "entropy[0] contains a line break"),
        (["ok", "1 2\r"], "entropy[1] contains a line break"),
        ([unicodedata.normalize("NFD", "体彩 é")], "entropy[0] is not in Unicode NFC"),
    ],
)
def test_bad_entropy_is_refused(entropy: Any, message: str) -> None:
    with pytest.raises(sr1.EntropyError) as caught:
        sr1.seed("0" * 64, entropy)
    assert message in str(caught.value)


# --- Events ---------------------------------------------------------------------------------


def make_draw(case: str = "03-events") -> sr1.Draw:
    given = read_input(case)
    files = given["files"]
    pool = sr1.parse_pool(files["pool.tsv"])
    params = sr1.build_params(
        given["params"], files["pool.tsv"], files["roster.tsv"], files["conflicts.tsv"]
    )
    conflicts = sr1.conflicts_by_entity(sr1.parse_conflicts(files["conflicts.tsv"]))
    return sr1.Draw(
        params, given["entropy"], pool, sr1.parse_roster(files["roster.tsv"]), conflicts
    )


SELECTED = "916523013X3LXPMPXT"  # team 65230100002, 65230100005 in case 03
NOT_SELECTED = "916523010YNBJF8E60"


def recuse(seq: int, inspector: str, uscc: str = SELECTED, **extra: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "type": "recuse",
        "uscc": uscc,
        "inspector": inspector,
        "reason": "回避",
    } | extra


def withdraw(seq: int, uscc: str, reason: str = "已注销") -> dict[str, Any]:
    return {"seq": seq, "type": "replace_entity", "uscc": uscc, "reason": reason}


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [recuse(1, "65230100000")],
            "event 1: inspector 65230100000 is not in the team of 916523013X3LXPMPXT "
            "(team: 65230100002, 65230100005)",
        ),
        ([recuse(1, "99999999999")], "event 1: inspector 99999999999 is not in the roster"),
        (
            [withdraw(1, SELECTED), withdraw(2, SELECTED)],
            f"event 2: entity {SELECTED} was already withdrawn by event 1",
        ),
        (
            [withdraw(1, SELECTED), recuse(2, "65230100002")],
            f"event 2: entity {SELECTED} was already withdrawn by event 1",
        ),
        (
            [withdraw(1, NOT_SELECTED)],
            f"event 1: entity {NOT_SELECTED} is not selected in this draw",
        ),
        ([withdraw(1, "91652301XXXXXXXXXX")], "91652301XXXXXXXXXX is not in the pool"),
        (
            [recuse(1, "65230100002"), recuse(3, "65230100005")],
            "event seq is 3 but the next event must have seq 2",
        ),
        ([recuse(0, "65230100002")], "event seq is 0 but the next event must have seq 1"),
        ([recuse(True, "65230100002")], "event seq is True"),
        ([withdraw(1, SELECTED, reason="  ")], "event 1: a reason is required"),
        (
            [{"seq": 1, "type": "replace_entity", "uscc": SELECTED}],
            "event 1 (replace_entity) lacks reason",
        ),
        (
            [{"seq": 1, "type": "swap", "uscc": SELECTED, "reason": "x"}],
            "event 1: unknown type 'swap'",
        ),
        (
            [recuse(1, "65230100002", outcome={"replacement": None})],
            "event 1 (recuse) has unexpected fields: outcome",
        ),
        ([withdraw(1, SELECTED, reason=7)], "event 1: reason must be a string"),
    ],
)
def test_invalid_events_are_refused(events: list[dict[str, Any]], message: str) -> None:
    draw = make_draw()
    *valid, invalid = events
    for event in valid:
        draw.apply_event(event)
    with pytest.raises(sr1.EventError) as caught:
        draw.apply_event(invalid)
    assert message in str(caught.value)


def test_a_refused_event_leaves_the_draw_unchanged() -> None:
    draw = make_draw()
    draw.apply_event(recuse(1, "65230100002"))
    before = (draw.loads, draw.chain, draw.final(), draw.events)
    with pytest.raises(sr1.EventError):
        draw.apply_event(recuse(2, "65230100002"))  # has just left the team
    assert (draw.loads, draw.chain, draw.final(), draw.events) == before
    draw.apply_event(recuse(2, "65230100005"))
    assert [event["seq"] for event in draw.events] == [1, 2]


def test_an_empty_place_is_reported_understaffed() -> None:
    draw = make_draw("04-dead-ends")
    entity = "91652302L2EQRFXLXJ"
    assert draw.apply_event(recuse(1, "65230200002", entity)) == {"replacement": "65230200001"}
    assert draw.apply_event(recuse(2, "65230200001", entity)) == {"replacement": None}
    assert draw.understaffed() == [entity]
    assert {"uscc": entity, "team": ["65230200000"]} in draw.final()
