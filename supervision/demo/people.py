"""Seeded draws for the demo: weighted pickers, apportioning, unique credit codes (a keyed
Feistel permutation of a counter) and people with valid identity numbers (GB 11643)."""

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from itertools import accumulate, product
from operator import mul
from random import Random
from typing import TypeVar

from supervision.demo.city import DemoCity
from supervision.registry.models import (
    EntityType,
)

K = TypeVar("K")


# GB 32100: registration department 9 (market regulation), organisation type by entity type.
ORG_TYPE = {EntityType.enterprise: "1", EntityType.individual: "2", EntityType.cooperative: "3"}
# GB 11643 resident identity number check.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def picker(weights: Mapping[K, float]) -> Callable[[float], K]:
    """Weighted choice from one uniform draw u in [0, 1): keys[bisect(cumulative, u)]."""
    pairs = [(k, w) for k, w in weights.items() if w > 0]
    if not pairs:
        raise ValueError("nothing to pick from")
    total = sum(w for _, w in pairs)
    keys = [k for k, _ in pairs]
    cum = list(accumulate(w / total for _, w in pairs))
    cum[-1] = 1.0

    def pick(u: float) -> K:
        return keys[bisect_right(cum, u)]

    return pick


def one_of(options: Sequence[K], u: float) -> K:
    """Uniform choice from one draw u in [0, 1) (cheaper than Random.choice on the hot path)."""
    return options[int(u * len(options))]


def apportion(weights: Mapping[K, float], total: int) -> dict[K, int]:
    """Split `total` in proportion to weights (largest remainder), deterministically."""
    s = sum(weights.values())
    exact = {k: total * w / s for k, w in weights.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: counts[k] - exact[k])[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


class CodeSequence:
    """Unique, random-looking codes: a counter through a keyed 4-round Feistel permutation.

    The counter n in [0, size²) splits into two base-`len(alphabet)` halves of `half_width`
    characters; each round maps (L, R) → (R, L + F_k(R) mod size), a bijection, so distinct
    counters give distinct codes.
    """

    def __init__(self, rng: Random, alphabet: str, half_width: int, prefix: str = "") -> None:
        base = len(alphabet)
        self.size = base**half_width
        self.keys = [[int(rng.random() * self.size) for _ in range(self.size)] for _ in range(4)]
        # The base-`base` spelling of every half, most significant character first.
        self.text = ["".join(chars) for chars in product(alphabet, repeat=half_width)]
        self.prefix = prefix
        self.next = 0

    def take(self) -> str:
        n = self.next
        if n >= self.size * self.size:
            raise ValueError("code space exhausted")
        self.next = n + 1
        size = self.size
        left, right = divmod(n, size)
        for key in self.keys:
            left, right = right, (left + key[right]) % size
        return self.prefix + self.text[left] + self.text[right]


def _weighted(digits: str, weights: Sequence[int]) -> int:
    return sum(map(mul, map(int, digits), weights))


class People:
    """Names, identity numbers and mobile numbers of people in the city."""

    def __init__(self, city: DemoCity) -> None:
        self.surname = picker(city.surnames)
        self.chars = city.given_name_chars
        self.minority = city.minority_names
        self.city = city
        # GB 11643 check: Σ digit × weight over the address, birth date and sequence parts,
        # each part's sum computed once.
        self.id_region = picker(
            {(code, _weighted(code, _ID_WEIGHTS[:6])): w for code, w in city.id_regions.items()}
        )
        self.births: dict[int, tuple[str, int]] = {}
        self.sequences = [
            (f"{n:03d}", _weighted(f"{n:03d}", _ID_WEIGHTS[14:])) for n in range(1000)
        ]
        self.mobile_prefixes = city.mobile_prefixes

    def person(self, rng: Random) -> tuple[str, str | None, bool]:
        """(name, surname or None for a full minority name, male)."""
        random = rng.random
        male = random() < self.city.male_share
        if random() < self.city.minority_share:
            return (
                one_of(self.minority.male if male else self.minority.female, random()),
                None,
                male,
            )
        chars = self.chars.male if male else self.chars.female
        surname = self.surname(random())
        given = one_of(chars, random())
        if random() < self.city.two_char_given_share:
            given += one_of(chars, random())
        return surname + given, surname, male

    def id_number(self, rng: Random, born: int, male: bool) -> str:
        """A resident identity number for someone born on the day with ordinal `born`."""
        birth = self.births.get(born)
        if birth is None:
            digits = date.fromordinal(born).strftime("%Y%m%d")
            birth = self.births[born] = (digits, _weighted(digits, _ID_WEIGHTS[6:14]))
        region, region_sum = self.id_region(rng.random())
        # Sequence code: odd for men, even for women.
        seq, seq_sum = self.sequences[int(rng.random() * 500) * 2 + male]
        return region + birth[0] + seq + _ID_CHECK[(region_sum + birth[1] + seq_sum) % 11]

    def mobile(self, rng: Random) -> str:
        return f"{one_of(self.mobile_prefixes, rng.random())}{int(rng.random() * 1e8):08d}"
