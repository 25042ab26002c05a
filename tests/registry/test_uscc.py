"""GB 32100-2015 and GB 11714 check characters: published codes, hand-computed examples,
an independent implementation (tests/uscc_reference.py) and properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervision.registry.uscc import (
    ALPHABET,
    UsccError,
    check_character,
    make_uscc,
    org_code_check,
    validate_uscc,
)
from tests import uscc_reference as ref

body = st.tuples(
    st.sampled_from("9"),
    st.sampled_from("123"),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    # positions 9–17: an organisation code with its own GB 11714 check
    st.text(alphabet=ALPHABET, min_size=8, max_size=8).map(lambda b: b + ref.org_check(b)),
).map("".join)


def test_standard_example() -> None:
    assert validate_uscc("91350100M000100Y43").check_ok
    assert check_character("91350100M000100Y4") == "3"


@given(body)
def test_every_code_with_its_check_character_validates(first17: str) -> None:
    code = first17 + check_character(first17)
    assert validate_uscc(code).check_ok
    assert validate_uscc(code.lower() + "  ").code == code  # normalised


@given(body, st.sampled_from(ALPHABET))
def test_any_other_check_character_is_flagged_not_rejected(first17: str, c: str) -> None:
    right = check_character(first17)
    result = validate_uscc(first17 + c)
    assert result.check_ok == (c == right)
    if c != right:
        assert right in result.warning


@given(body, st.integers(0, 16), st.sampled_from(ALPHABET))
def test_a_single_substitution_is_detected(first17: str, pos: int, c: str) -> None:
    # Weights are non-zero mod 31 (a prime), so changing one character changes the check.
    changed = first17[:pos] + c + first17[pos + 1 :]
    if changed != first17:
        assert check_character(changed) != check_character(first17)


@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8))
def test_make_uscc_is_valid(org: str) -> None:
    assert validate_uscc(make_uscc("9", "2", "652301", org)).check_ok


@pytest.mark.parametrize("code", sorted(ref.PUBLISHED_VALID) + sorted(ref.HAND_COMPUTED_USCC))
def test_published_codes_validate(code: str) -> None:
    assert validate_uscc(code).check_ok, code
    assert check_character(code[:17]) == code[17]
    assert org_code_check(code[8:16]) == code[16]
    assert make_uscc(code[0], code[1], code[2:8], code[8:16]) == code


@pytest.mark.parametrize("code", sorted(ref.PUBLISHED_VALID) + sorted(ref.HAND_COMPUTED_USCC))
@pytest.mark.parametrize("position", range(18))
def test_a_published_code_with_one_character_changed_is_not_valid(code: str, position: int) -> None:
    changed = ref.one_changed(code, position)
    try:
        result = validate_uscc(changed)
    except UsccError:
        return  # a wrong shape (e.g. a letter in the region code) is refused outright
    assert not result.check_ok, changed
    assert result.warning


@pytest.mark.parametrize(("body", "check"), sorted(ref.ORG_CODE_CHECKS.items()))
def test_hand_computed_organisation_code_checks(body: str, check: str) -> None:
    assert org_code_check(body) == check


def test_organisation_code_letters_count_from_ten() -> None:
    # GB 11714 values letters A=10 … Z=35; the USCC alphabet (no I, O, S, V, Z) would give J=18.
    assert org_code_check("0000000J") == "6"
    assert org_code_check("0000000P") == "5"
    assert org_code_check("ABCD-123") is None and org_code_check("1234567") is None


def test_a_wrong_organisation_code_check_is_flagged_not_rejected() -> None:
    # Huawei's code with position 17 changed and the 18th recomputed: the GB 32100 check holds,
    # the GB 11714 check does not.
    first17 = "91440300192203820"
    code = first17 + ref.uscc_check(first17)
    result = validate_uscc(code)
    assert not result.check_ok
    assert "组织机构代码" in result.warning and "“1”" in result.warning


@given(
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=8, max_size=8),
    st.sampled_from("123"),
)
def test_make_uscc_agrees_with_the_independent_implementation(
    region: str, body: str, kind: str
) -> None:
    assert make_uscc("9", kind, region, body) == ref.uscc(region, body, kind=kind)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "91350100M000100Y4",
        "91350100M000100Y433",
        "91350100M00010OY43",
        "9135010SM000100Y43",
        "Z1350100M000100Y43",
        "91350I00M000100Y43",
        "913501 0M000100Y43",
    ],
)
def test_wrong_shape_is_rejected_with_a_reason(bad: str) -> None:
    with pytest.raises(UsccError) as e:
        validate_uscc(bad)
    assert "/" in str(e.value)  # Chinese and English reason
