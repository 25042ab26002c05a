"""GB 32100-2015 check character: worked example and properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervision.registry.uscc import ALPHABET, UsccError, check_character, make_uscc, validate_uscc

body = st.tuples(
    st.sampled_from("9"),
    st.sampled_from("123"),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=9, max_size=9),
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
