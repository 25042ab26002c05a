"""Unified social credit code (统一社会信用代码, GB 32100-2015).

Positions 9–17 are the 主体标识码, an organisation code of GB 11714-1997 whose 9th
character is its own check. Shape errors reject a code; a wrong check character (the 18th,
or the organisation code's) only flags it, because registries hold codes issued that way and
an import must not lose them.
"""

from dataclasses import dataclass
from operator import mul

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_STRIP_ALPHABET = str.maketrans("", "", ALPHABET)
# Position 1: registration department; 2: organisation type within it.
REGISTRATION_DEPARTMENTS = set("123456789ANY")


@dataclass(frozen=True)
class UsccCheck:
    code: str
    check_ok: bool
    warning: str | None = None


class UsccError(ValueError):
    pass


# Each allowed character's value at its ASCII code, so that bytes.translate turns a code into
# its values in one C-level pass (a million codes an import).
_VALUE_BYTES = bytes(VALUES.get(chr(i), 0) for i in range(256))


def check_character(first17: str) -> str:
    """The 18th character for the first 17: (31 − Σ value×weight mod 31) mod 31."""
    stray = first17.translate(_STRIP_ALPHABET)
    if stray:
        raise UsccError(f"字符“{stray[0]}”不在代码字符集内 / character {stray[0]!r} is not allowed")
    return _check_of(first17)


def _check_of(code: str) -> str:
    """The check character of a code of allowed characters (its first 17 count)."""
    total = sum(map(mul, code.encode("ascii").translate(_VALUE_BYTES), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(raw: str) -> UsccCheck:
    """Normalise (strip, upper-case) and check a code; raise UsccError on a wrong shape."""
    code = raw.strip().upper()
    if len(code) != 18:
        raise UsccError(f"统一社会信用代码应为18位，实为{len(code)}位 / must be 18 characters")
    # Fast path for the import of millions of rows: one C-level pass finds any stray character.
    if code.translate(_STRIP_ALPHABET):
        for pos, c in enumerate(code, start=1):
            if c in VALUES:
                continue
            raise UsccError(
                f"第{pos}位字符“{c}”不在代码字符集内（不含I、O、S、V、Z）"
                f" / character {pos} {c!r} is not allowed"
            )
    if code[0] not in REGISTRATION_DEPARTMENTS:
        raise UsccError(f"登记管理部门代码“{code[0]}”无效 / invalid registration department")
    if not code[2:8].isdigit():
        raise UsccError("第3–8位应为行政区划代码（数字） / positions 3-8 must be a region code")
    expected = _check_of(code)
    if code[17] != expected:
        return UsccCheck(
            code,
            False,
            f"校验位应为“{expected}”，实为“{code[17]}”，已标记待核 / check character should be "
            f"{expected!r}, flagged",
        )
    org = org_code_check(code[8:16])
    if org is not None and code[16] != org:
        return UsccCheck(
            code,
            False,
            f"第17位（组织机构代码校验码）应为“{org}”，实为“{code[16]}”，已标记待核"
            f" / organisation-code check (position 17) should be {org!r}, flagged",
        )
    return UsccCheck(code, True)


def make_uscc(dept: str, org_type: str, region: str, org_code8: str) -> str:
    """Build a valid code from its parts (the organisation code's own check is computed too)."""
    org_check = org_code_check(org_code8)
    if org_check is None:
        raise UsccError(f"组织机构代码本体“{org_code8}”应为8位数字或字母 / must be 8 of 0-9, A-Z")
    first17 = dept + org_type + region + org_code8 + org_check
    return first17 + check_character(first17)


# GB 11714-1997: characters 0–9 keep their value, A–Z count 10–35 (a plain base-36 digit,
# not the GB 32100 alphabet, which skips I, O, S, V, Z); weights per position; check
# C9 = 11 − (Σ value×weight mod 11), written X for 10 and 0 for 11.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_VALUE_BYTES = bytes(int(chr(i), 36) if chr(i) in _ORG_CHARS else 0 for i in range(256))


def org_code_check(code8: str) -> str | None:
    """The GB 11714 check character of an 8-character organisation code body (None if not one)."""
    if len(code8) != 8 or code8.strip(_ORG_CHARS):
        return None
    total = sum(map(mul, code8.encode("ascii").translate(_ORG_VALUE_BYTES), _ORG_WEIGHTS))
    c = 11 - total % 11
    return "X" if c == 10 else ("0" if c == 11 else str(c))
