"""A second, independent USCC implementation for building test codes, and published codes.

Written from the standards' text, not from the product's module, so that a wrong weight or
letter value in `supervision.registry.uscc` disagrees with it (and with the published codes
below) instead of being copied into every test code.

GB 32100-2015: 18 characters over 0-9 and A-Z without I, O, S, V, Z (values 0..30);
the 18th is the check, weight of position i (1-based) is 3^(i-1) mod 31.
GB 11714-1997: an 8-character body over 0-9 (0..9) and A-Z (10..35) with weights
3 7 9 10 5 8 4 2; the 9th is 11 - (sum mod 11), X for 10 and 0 for 11.
"""

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# Published codes (from the entities' own business licences / the national enterprise credit
# information publicity system), with their validity as a standard validator sees it.
PUBLISHED_VALID = {
    "914403001922038216": "华为技术有限公司",
    "91110108551385082Q": "小米科技有限责任公司",
    "91350100M000100Y43": "GB 32100-2015 附录的示例代码",
}
# Hand-computed GB 32100 codes (first 17 -> 18th), with non-zero digits where published
# codes happen to hold zeros (their 7th character, the region's 5th digit, is 0 in all three):
#   91652327000000000: 9*1+1*3+6*9+5*27+2*19+3*26+2*16+7*17 = 468; 468 mod 31 = 3; 31-3 = 28 -> W
HAND_COMPUTED_USCC = {"91652327000000000W": "吉木萨尔县, body 00000000 (check 0)"}
# Hand-computed GB 11714 organisation codes: body -> check character.
#   19220382: 1*3+9*7+2*9+2*10+0*5+3*8+8*4+2*2 = 164; 164 mod 11 = 10; 11-10 = 1
#   55138508: 5*3+5*7+1*9+3*10+8*5+5*8+0*4+8*2 = 185; 185 mod 11 = 9;  11-9  = 2
#   M000100Y: 22*3+0+0+0+1*5+0+0+34*2 = 139;         139 mod 11 = 7;  11-7  = 4
#   MA77XY12: 22*3+10*7+7*9+7*10+33*5+34*8+1*4+2*2 = 714; 714 mod 11 = 10; 11-10 = 1
#   00000000: 0; 11-0 = 11 -> 0
#   0000000A: 10*2 = 20; 20 mod 11 = 9; 11-9 = 2
#   00000005: 5*2 = 10; 10 mod 11 = 10; 11-10 = 1
#   0000000J: 19*2 = 38; 38 mod 11 = 5; 11-5 = 6 (J = 19 in GB 11714, 18 in GB 32100)
#   00000100: 1*8 = 8; 11-8 = 3
#   00001000: 1*5 = 5; 11-5 = 6
#   0000000P: 25*2 = 50; 50 mod 11 = 6; 11-6 = 5
#   00100000: 1*9 = 9; 11-9 = 2
#   10000000: 1*3 = 3; 11-3 = 8
#   00000001: 1*2 = 2; 11-2 = 9
#   00000600: 6*8 = 48; 48 mod 11 = 4; 11-4 = 7
#   01000010: 1*7+1*4 = 11; 11 mod 11 = 0; 11-0 = 11 -> 0
#   00002000: 2*5 = 10; 10 mod 11 = 10; 11-10 = 1
#   10100000: 3+9 = 12; 12 mod 11 = 1; 11-1 = 10 -> X
ORG_CODE_CHECKS = {
    "19220382": "1",
    "55138508": "2",
    "M000100Y": "4",
    "MA77XY12": "1",
    "00000000": "0",
    "0000000A": "2",
    "00000005": "1",
    "0000000J": "6",
    "00000100": "3",
    "00001000": "6",
    "0000000P": "5",
    "00100000": "2",
    "10000000": "8",
    "00000001": "9",
    "00000600": "7",
    "01000010": "0",
    "00002000": "1",
    "10100000": "X",
}


def org_check(body: str) -> str:
    total = 0
    for char, weight in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True):
        value = ord(char) - 48 if char.isdigit() else ord(char) - ord("A") + 10
        total += value * weight
    c = 11 - total % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def uscc_check(first17: str) -> str:
    total = 0
    weight = 1
    for char in first17:
        total += USCC_CHARS.index(char) * weight
        weight = weight * 3 % 31
    return USCC_CHARS[-total % 31]


def uscc(region: str, body: str, *, dept: str = "9", kind: str = "1") -> str:
    """A valid code: registration department, kind, 6-digit region, 8-character body."""
    first17 = dept + kind + region + body + org_check(body)
    return first17 + uscc_check(first17)


def one_changed(code: str, position: int) -> str:
    """The code with the character at `position` (0-based) replaced by the next valid one."""
    alphabet = USCC_CHARS if position >= 2 else "123456789ANY"
    if 2 <= position < 8:
        alphabet = "0123456789"
    c = alphabet[(alphabet.index(code[position]) + 1) % len(alphabet)]
    return code[:position] + c + code[position + 1 :]
