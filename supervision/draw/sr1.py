"""sr1: seeded, auditable double-random draws (the public contract, DRAW-PROTOCOL.md).

Standard library only, pure functions and one state object: no database, no clock, no
globals. The same file is embedded in the standalone verifier citizens download, so whatever
the product draws, the verifier recomputes with this very code. It is one file on purpose:
the protocol is one concern, and a citizen reads (and the verifier embeds) a single module
next to the specification. Pools of millions of entities are read a block of lines at a time
(`PoolFile`); the result is byte for byte the whole-file draw's.

The algorithm, as the contract states it:

1. Inputs are three canonical TSV files (UTF-8, NFC, TAB-separated, LF after every line, no
   header, no BOM, sorted by key, unique keys): ``pool.tsv`` (USCC, STRATUM, UNIT),
   ``roster.tsv`` (INSPECTOR_ID, GROUP, UNIT, QUALIFICATIONS) and ``conflicts.tsv``
   (INSPECTOR_ID, USCC).
2. The parameters (batch, integer quotas per stratum, team slots, cross-unit rule, max_load,
   entropy plan, plus the SHA-256 digests of the three files and the pool size) are committed:
   ``commitment = H(canonical_json(params))``, where ``H`` is lowercase hex SHA-256 of UTF-8.
3. Public entropy strings entered after publication give
   ``seed = H(commitment + "\\n" + entropy[0] + "\\n" + entropy[1] ...)``.
4. Tickets: ``TE(u) = H(seed:E:u)``, ``TI(u, i) = H(seed:I:u:i)``,
   ``TR(u, k, i) = H(seed:R:u:k:i)``.
5. Selection: in each stratum, the ``quota`` entities with the smallest ``(TE(u), u)``; the
   selected list is their union ordered by ``(TE(u), u)``; the rest of a stratum, in the same
   order, is its reserve.
6. Pairing: loads start at 0. For each selected entity in order and each team slot in order,
   the eligible inspectors are those of the slot's group and qualification, not of the
   entity's unit (when cross_unit), not in conflict with it, not yet in its team and below
   max_load; the slot takes the ``count`` with the smallest ``(load, TI(u, i), i)``. If a slot
   cannot be filled the entity is unassigned (empty team, no load change); otherwise every
   member's load rises by one.
7. Events, in order (``seq`` 1, 2, ...): ``recuse`` removes an inspector from a team (load
   minus one, the pair becomes a conflict) and refills the place with the eligible inspector
   of smallest ``(load, TR(u, k, i), i)``, ``k`` counting the entity's recusals, or leaves it
   empty; ``replace_entity`` withdraws an entity (its members' loads minus one) and selects
   the first unused entity of its stratum's reserve, paired as in step 6. Every event extends
   the hash chain ``chain_n = H(chain_{n-1} + "\\n" + canonical_json(event_n))``,
   ``chain_0 = seed``.
8. The bundle publishes params, commitment, entropy, seed, the draw as made, the conflicts
   that touched selected entities, the events with outcomes and chain, and the final state.

Protocol sr2, sealed strata, for strata built from anything not public (credit-risk classes):
everything above holds except that pool.tsv's second field is each entity's tag
``TAG(u) = H("sr2:S:" + u + ":" + STRATUM(u) + ":" + SALT(u))``, the strata and fresh random
salts sit in the private ``strata.tsv`` (USCC, STRATUM, SALT), params add ``strata_sha256``
and ``strata_sizes``, the entity ticket is salted, ``TE(u) = H(seed:E:u:SALT(u))``, and the
selected list (and the pairing) follows the public ``TP(u) = H(seed:P:u)``; selected items
carry no stratum and no ticket. Without strata.tsv the public checks everything but which
entities each quota took and which reserve entity replaced a withdrawn one.

Raw SHA-256 digests order exactly as their lowercase hex, so tickets are compared as bytes
and turned into hex only where they are published.
"""

import hashlib
import heapq
import io
import json
import math
import re
import sys
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cached_property
from itertools import compress, islice, repeat, zip_longest
from operator import ge, lt
from typing import Any, NamedTuple

PROTOCOL = "sr1"
SEALED = "sr2"
PROTOCOLS = (PROTOCOL, SEALED)
BASE_PARAM_KEYS = ("protocol", "batch", "quotas", "team", "cross_unit", "max_load", "entropy_plan")
FILE_PARAM_KEYS = ("pool_sha256", "pool_size", "roster_sha256", "conflicts_sha256")
SEALED_PARAM_KEYS = ("strata_sha256", "strata_sizes")
SALT_LENGTH = 32  # hex characters: 16 random bytes
SLOT_KEYS = ("group", "count", "qualification")
EVENT_FIELDS = {
    "recuse": ("seq", "type", "uscc", "inspector", "reason"),
    "replace_entity": ("seq", "type", "uscc", "reason"),
}
_HEX = frozenset("0123456789abcdef")
_HEX_BYTES = b"0123456789abcdef"


class Sr1Error(ValueError):
    """Input that breaks the sr1 contract; the message says what is wrong and where."""


class TsvError(Sr1Error):
    """A frozen input file that is not canonical TSV."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        self.file, self.line, self.reason = file, line, reason
        super().__init__(f"{file} line {line}: {reason}" if line else f"{file}: {reason}")


class ParamsError(Sr1Error):
    """Parameters that are not valid sr1 parameters for the given pool."""


class EntropyError(Sr1Error):
    """Entropy that is not a non-empty list of non-empty NFC strings without CR or LF."""


class EventError(Sr1Error):
    """An event that cannot be applied to the draw in its current state."""


# --- Hashing and canonical JSON -------------------------------------------------------------


def H(s: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 bytes of ``s``."""
    return hashlib.sha256(s.encode()).hexdigest()


def digest_bytes(b: bytes) -> str:
    """Lowercase hex SHA-256 of a file's bytes."""
    return hashlib.sha256(b).hexdigest()


def stream_digest(stream: Any) -> str:
    """Lowercase hex SHA-256 of a binary stream, read four megabytes at a time."""
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 22):
        digest.update(chunk)
    return digest.hexdigest()


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, non-ASCII as itself; only JSON values without floats."""
    _check_json_value(obj, "$")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _check_json_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        raise Sr1Error(f"{where}: {value!r} is a float; sr1 allows integers only")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise Sr1Error(f"{where}: object key {key!r} is not a string")
            _check_json_value(item, f"{where}.{key}")
        return
    if isinstance(value, list | tuple):
        for n, item in enumerate(value):
            _check_json_value(item, f"{where}[{n}]")
        return
    raise Sr1Error(f"{where}: a {type(value).__name__} is not a JSON value")


def entity_ticket(seed: str, uscc: str) -> str:
    """TE(u)."""
    return H(_entity_prefix(seed) + uscc)


def pairing_ticket(seed: str, uscc: str, inspector: str) -> str:
    """TI(u, i)."""
    return H(_pairing_prefix(seed, uscc) + inspector)


def replacement_ticket(seed: str, uscc: str, k: int, inspector: str) -> str:
    """TR(u, k, i)."""
    return H(_replacement_prefix(seed, uscc, k) + inspector)


def sealed_entity_ticket(seed: str, uscc: str, salt: str) -> str:
    """TE(u) under sr2: salted, so only who holds strata.tsv can compute it."""
    return H(f"{_entity_prefix(seed)}{uscc}:{salt}")


def order_ticket(seed: str, uscc: str) -> str:
    """TP(u), sr2's public pairing-order ticket."""
    return H(f"{seed}:P:{uscc}")


def tag(uscc: str, stratum: str, salt: str) -> str:
    """TAG(u) = H("sr2:S:" + u + ":" + STRATUM(u) + ":" + SALT(u)): what sr2's pool.tsv shows
    instead of the stratum."""
    return tags([uscc], [stratum], [salt])[0]


def tags(usccs: Sequence[str], strata: Sequence[str], salts: Sequence[str]) -> list[str]:
    """TAG(u) for many entities at once (the shared prefix hashed once; see `tag`)."""
    start = hashlib.sha256(b"sr2:S:")
    out = []
    for u, st, sa in zip(usccs, strata, salts, strict=True):
        h = start.copy()
        h.update(f"{u}:{st}:{sa}".encode())
        out.append(h.hexdigest())
    return out


def _entity_prefix(seed: str) -> str:
    return f"{seed}:E:"


def _pairing_prefix(seed: str, uscc: str) -> str:
    return f"{seed}:I:{uscc}:"


def _replacement_prefix(seed: str, uscc: str, k: int) -> str:
    return f"{seed}:R:{uscc}:{k}:"


def _ticket_digests(prefix: str, suffixes: Iterable[str]) -> list[bytes]:
    """Raw SHA-256 of ``prefix + s`` for each ``s`` (hashing the shared prefix only once)."""
    return _suffix_digests(prefix, map(str.encode, suffixes))


def _suffix_digests(prefix: str, suffixes: Iterable[bytes]) -> list[bytes]:
    """`_ticket_digests` for suffixes already UTF-8 (the hot loop of pairing: tens of
    millions of tickets in a large batch, so every lookup in it is bound once)."""
    copy = hashlib.sha256(prefix.encode()).copy
    digests: list[bytes] = []
    append = digests.append
    for s in suffixes:
        h = copy()
        h.update(s)
        append(h.digest())
    return digests


# --- Canonical TSV files ----------------------------------------------------------------------


class Inspector(NamedTuple):
    """One line of roster.tsv."""

    inspector_id: str
    group: str
    unit: str
    qualifications: tuple[str, ...]


@dataclass(frozen=True)
class Pool:
    """pool.tsv as three columns (a million tuples would cost far more memory)."""

    usccs: list[str]
    strata: list[str]
    units: list[str]

    def __len__(self) -> int:
        return len(self.usccs)

    def stratum_sizes(self) -> dict[str, int]:
        """N_s for every stratum present, by stratum label."""
        return dict(self._stratum_sizes)

    @cached_property
    def _stratum_sizes(self) -> dict[str, int]:
        # Counted once: params checks and the selection both need it.
        return dict(sorted(Counter(self.strata).items()))

    def index(self, uscc: str) -> int | None:
        """Line index of ``uscc`` (the file is sorted, so a binary search), or None."""
        n = bisect_left(self.usccs, uscc)
        return n if n < len(self.usccs) and self.usccs[n] == uscc else None

    def records(self) -> Iterator[tuple[str, str, str]]:
        """(USCC, STRATUM, UNIT) in file order."""
        return zip(self.usccs, self.strata, self.units, strict=True)


def parse_pool(data: bytes, *, checked: bool = False) -> Pool:
    """Validate and read pool.tsv (USCC, STRATUM, UNIT; sorted by unique USCC).

    ``checked=True`` skips the validation, for bytes already validated and read back by
    their SHA-256 (the service's own frozen files): only the columns are cut out. Whoever
    receives a file from elsewhere (the verifier, a replay) validates it.
    """
    name = "pool.tsv"
    if checked:
        usccs, strata, units = _trusted_columns(data, 3)
    else:
        usccs, strata, units = _tsv_columns(data, name, ("USCC", "STRATUM", "UNIT"), optional=())
        _check_order(usccs, name, "USCC")
    # Labels repeat a million times; one shared string each keeps the pool small. sr2's tags
    # never repeat: interning them would only grow the interpreter's table.
    if len(set(islice(strata, 1000))) < 100:
        strata = list(map(sys.intern, strata))
    return Pool(usccs, strata, list(map(sys.intern, units)))


@dataclass(frozen=True)
class Strata:
    """strata.tsv (sr2, private): each pool entity's stratum and salt, by USCC."""

    usccs: list[str]
    strata: list[str]
    salts: list[str]

    def sizes(self) -> dict[str, int]:
        return dict(sorted(Counter(self.strata).items()))


def parse_strata(data: bytes, *, checked: bool = False, pool: Pool | None = None) -> Strata:
    """Validate and read strata.tsv (USCC, STRATUM, SALT; sorted by unique USCC);
    ``checked`` as for `parse_pool`. With ``pool`` (the same commitment's pool.tsv, when
    its USCC column is the same) the strata share the pool's USCC strings instead of
    holding a second million of them."""
    name = "strata.tsv"
    if checked:
        usccs, strata, salts = _trusted_columns(data, 3)
        if pool is not None and usccs == pool.usccs:
            usccs = pool.usccs
        return Strata(usccs, list(map(sys.intern, strata)), salts)
    usccs, strata, salts = _tsv_columns(data, name, ("USCC", "STRATUM", "SALT"), optional=())
    _check_order(usccs, name, "USCC")
    # Two C-speed passes over a million salts; the line is looked for only when one is wrong.
    if not _all_salts(salts):
        n = next(
            n
            for n, salt in enumerate(salts, start=1)
            if len(salt) != SALT_LENGTH or not set(salt) <= _HEX
        )
        raise TsvError(name, n, f"SALT must be {SALT_LENGTH} lowercase hex digits")
    return Strata(usccs, list(map(sys.intern, strata)), salts)


def _all_salts(salts: Sequence[str]) -> bool:
    """Every salt is SALT_LENGTH lowercase hex digits (C-speed passes over a million)."""
    if set(map(len, salts)) - {SALT_LENGTH}:
        return False
    joined = "".join(salts)
    return joined.isascii() and not joined.encode("ascii").translate(None, _HEX_BYTES)


def check_written_strata(strata: Strata) -> None:
    """What `parse_strata` would check of a strata.tsv written from these columns, without
    reading the file back: the USCCs are the pool's (the caller compares them), so the
    labels and salts remain — each distinct label once, the salts in two C-speed passes."""
    for label in set(strata.strata):
        if (
            not label
            or any(c in label for c in "\t\r\n")
            or not unicodedata.is_normalized("NFC", label)
        ):
            line = strata.strata.index(label) + 1
            raise TsvError("strata.tsv", line, f"bad STRATUM label {label!r}")
    salts = strata.salts
    if not _all_salts(salts):
        raise TsvError("strata.tsv", None, f"SALT must be {SALT_LENGTH} lowercase hex digits")


def check_strata(strata: Strata, pool: Pool) -> None:
    """strata.tsv holds exactly the pool's entities, and every tag in pool.tsv is theirs."""
    if strata.usccs != pool.usccs:
        line = next(
            (
                n
                for n, (a, b) in enumerate(zip(strata.usccs, pool.usccs, strict=False), start=1)
                if a != b
            ),
            min(len(strata.usccs), len(pool.usccs)) + 1,
        )
        raise TsvError(
            "strata.tsv",
            line,
            f"must list exactly the pool's {len(pool)} entities in the same order "
            f"(it has {len(strata.usccs)})",
        )
    expected = tags(strata.usccs, strata.strata, strata.salts)
    if expected == pool.strata:
        return
    for n, (uscc, computed, published) in enumerate(
        zip(strata.usccs, expected, pool.strata, strict=True), start=1
    ):
        if computed != published:
            raise TsvError(
                "pool.tsv",
                n,
                f"the tag of {uscc} is not H(sr2:S:{uscc}:STRATUM:SALT) for its line in "
                "strata.tsv (changed stratum, salt or tag)",
            )


def encode_strata(records: Iterable[Sequence[str]]) -> bytes:
    """Canonical strata.tsv from (USCC, STRATUM, SALT) records, sorted by USCC."""
    rows = sorted(_records(records, 3, "strata.tsv"))
    return _encode_tsv(rows, "strata.tsv", parse_strata)


def parse_roster(data: bytes) -> list[Inspector]:
    """Validate and read roster.tsv (INSPECTOR_ID, GROUP, UNIT, QUALIFICATIONS)."""
    name = "roster.tsv"
    fields = ("INSPECTOR_ID", "GROUP", "UNIT", "QUALIFICATIONS")
    ids, groups, units, quals = _tsv_columns(data, name, fields, optional=("QUALIFICATIONS",))
    _check_order(ids, name, "INSPECTOR_ID")
    roster = []
    for line, (inspector_id, group, unit, joined) in enumerate(
        zip(ids, groups, units, quals, strict=True), start=1
    ):
        codes = tuple(joined.split(",")) if joined else ()
        if "" in codes or list(codes) != sorted(set(codes)):
            raise TsvError(
                name,
                line,
                f"QUALIFICATIONS {joined!r} must be distinct non-empty codes, sorted and "
                "joined by ','",
            )
        roster.append(Inspector(inspector_id, group, unit, codes))
    return roster


def parse_conflicts(data: bytes) -> list[tuple[str, str]]:
    """Validate and read conflicts.tsv as (INSPECTOR_ID, USCC) pairs."""
    name = "conflicts.tsv"
    inspectors, usccs = _tsv_columns(data, name, ("INSPECTOR_ID", "USCC"), optional=())
    pairs = list(zip(inspectors, usccs, strict=True))
    _check_order(pairs, name, "(INSPECTOR_ID, USCC) pair")
    return pairs


def conflicts_by_entity(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """{uscc: inspectors in conflict with it} from (INSPECTOR_ID, USCC) pairs."""
    by_entity: dict[str, set[str]] = {}
    for inspector, uscc in pairs:
        by_entity.setdefault(uscc, set()).add(inspector)
    return by_entity


def pool_columns(records: Iterable[Sequence[str]]) -> Pool:
    """(USCC, STRATUM, UNIT) records in any order as a Pool's columns, sorted by USCC (not
    yet checked: see `check_pool_columns`)."""
    usccs: list[str] = []
    strata: list[str] = []
    units: list[str] = []
    for uscc, stratum, unit in records:
        usccs.append(uscc)
        strata.append(stratum)
        units.append(unit)
    if any(map(ge, usccs, islice(usccs, 1, None))):
        order = sorted(range(len(usccs)), key=usccs.__getitem__)
        usccs, strata, units = ([column[n] for n in order] for column in (usccs, strata, units))
    return Pool(usccs, strata, units)


def encode_pool_columns(pool: Pool) -> bytes:
    """pool.tsv written from a Pool's columns (checked with `check_pool_columns`)."""
    return "".join(
        [f"{u}\t{s}\t{n}\n" for u, s, n in zip(pool.usccs, pool.strata, pool.units, strict=True)]
    ).encode()


def encode_strata_columns(strata: Strata) -> bytes:
    """strata.tsv written from its columns (checked with `check_written_strata`)."""
    return "".join(
        [
            f"{u}\t{st}\t{sa}\n"
            for u, st, sa in zip(strata.usccs, strata.strata, strata.salts, strict=True)
        ]
    ).encode()


def check_pool_columns(pool: Pool) -> None:
    """Every rule `parse_pool` checks, on the columns pool.tsv is written from: no empty
    field, no TAB/CR/LF, NFC text, USCCs sorted and unique. Repeated labels are looked at
    once each; the USCCs in one joined string, at C speed."""
    name = "pool.tsv"
    columns = (
        ("USCC", pool.usccs, False),
        ("STRATUM", pool.strata, True),
        ("UNIT", pool.units, True),
    )
    for field_name, column, repeats in columns:
        values = set(column) if repeats and len(set(islice(column, 1000))) < 100 else column
        joined = "\x00".join(values)
        if (
            "" in values
            or any(c in joined for c in "\t\r\n")
            or not unicodedata.is_normalized("NFC", joined)
        ):
            line = next(
                n
                for n, value in enumerate(column, start=1)
                if not value
                or any(c in value for c in "\t\r\n")
                or not unicodedata.is_normalized("NFC", value)
            )
            raise TsvError(
                name, line, f"{field_name} must be non-empty NFC text without TAB, CR or LF"
            )
    _check_order(pool.usccs, name, "USCC")


def encode_pool(records: Iterable[Sequence[str]]) -> bytes:
    """Canonical pool.tsv from (USCC, STRATUM, UNIT) records in any order, validated."""
    rows = sorted(_records(records, 3, "pool.tsv"), key=lambda r: r[0])
    return _encode_tsv(rows, "pool.tsv", parse_pool)


def encode_roster(records: Iterable[Sequence[Any]]) -> bytes:
    """Canonical roster.tsv from (INSPECTOR_ID, GROUP, UNIT, QUALIFICATIONS) records.

    QUALIFICATIONS may be a collection of codes or a ``,``-joined string; either way it is
    written sorted and without repeats.
    """
    rows = sorted(
        ((*r[:3], _join_qualifications(r[3])) for r in _records(records, 4, "roster.tsv")),
        key=lambda r: r[0],
    )
    return _encode_tsv(rows, "roster.tsv", parse_roster)


def encode_conflicts(pairs: Iterable[Sequence[str]]) -> bytes:
    """Canonical conflicts.tsv from (INSPECTOR_ID, USCC) pairs in any order."""
    return _encode_tsv(
        sorted(_records(pairs, 2, "conflicts.tsv")), "conflicts.tsv", parse_conflicts
    )


def _records(records: Iterable[Sequence[Any]], width: int, name: str) -> list[tuple[Any, ...]]:
    rows = [tuple(record) for record in records]
    for row in rows:
        if len(row) != width:
            raise Sr1Error(f"{name}: record {row!r} must have {width} fields")
    return rows


def _join_qualifications(codes: str | Iterable[str]) -> str:
    if isinstance(codes, str):
        codes = codes.split(",") if codes else []
    return ",".join(sorted(set(codes)))


def _encode_tsv(rows: list[tuple[str, ...]], name: str, parse: Callable[[bytes], object]) -> bytes:
    """Join sorted rows, then validate the result with the file's own parser (unless None)."""
    try:
        data = "".join("\t".join(row) + "\n" for row in rows).encode()
    except TypeError as exc:
        raise Sr1Error(f"{name}: every field must be a string ({exc})") from None
    except UnicodeEncodeError as exc:
        raise Sr1Error(f"{name}: a field is not encodable as UTF-8 ({exc.reason})") from None
    try:
        parse(data)
    except TsvError as exc:
        record = rows[exc.line - 1] if exc.line and exc.line <= len(rows) else None
        raise Sr1Error(f"{name}: record {record!r}: {exc.reason}") from None
    return data


def _tsv_columns(
    data: bytes, name: str, fields: tuple[str, ...], optional: tuple[str, ...], start: bool = True
) -> list[list[str]]:
    """The file's fields as columns, after every check that applies to all three files
    (``start=False``: the bytes continue a file, whose start was checked already)."""
    text = _tsv_text(data, name, start)
    if not text:
        return [[] for _ in fields]
    _check_field_counts(text, name, fields)
    # One split of the whole text and strided slices: far faster than a split per line.
    flat = text[:-1].replace("\n", "\t").split("\t")
    columns = [flat[k :: len(fields)] for k in range(len(fields))]
    for field_name, column in zip(fields, columns, strict=True):
        if field_name not in optional and "" in column:
            raise TsvError(name, column.index("") + 1, f"{field_name} is empty")
    return columns


def _trusted_columns(data: bytes, width: int) -> list[list[str]]:
    """The columns of a canonical TSV file known to be valid (see `parse_pool`)."""
    if not data:
        return [[] for _ in range(width)]
    flat = data[:-1].decode("utf-8").replace("\n", "\t").split("\t")
    return [flat[k::width] for k in range(width)]


def _check_field_counts(text: str, name: str, fields: tuple[str, ...]) -> None:
    """Every line has exactly one field per column (a function, so the lines die with it)."""
    lines = text.split("\n")
    lines.pop()  # the final LF leaves an empty item
    tabs = len(fields) - 1
    if set(map(str.count, lines, repeat("\t"))) == {tabs}:
        return
    line = next(n for n, text_line in enumerate(lines) if text_line.count("\t") != tabs)
    found = lines[line].count("\t") + 1
    raise TsvError(
        name,
        line + 1,
        f"expected {len(fields)} fields separated by TAB, found {found} "
        "(no field may contain TAB, CR or LF)",
    )


def _tsv_text(data: bytes, name: str, start: bool = True) -> str:
    if start and data.startswith(b"\xef\xbb\xbf"):
        raise TsvError(name, 1, "starts with a byte-order mark (BOM); save as UTF-8 without BOM")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TsvError(name, data.count(b"\n", 0, exc.start) + 1, "not valid UTF-8") from None
    if "\r" in text:
        line = text.count("\n", 0, text.index("\r")) + 1
        raise TsvError(name, line, "contains a carriage return (CR); end lines with LF only")
    if text and not text.endswith("\n"):
        raise TsvError(name, text.count("\n") + 1, "the last line does not end with LF")
    if not unicodedata.is_normalized("NFC", text):
        line = next(
            n
            for n, text_line in enumerate(text.split("\n"), start=1)
            if not unicodedata.is_normalized("NFC", text_line)
        )
        raise TsvError(name, line, "text is not in Unicode NFC form; normalise it to NFC")
    return text


def _check_order(keys: Sequence[Any], name: str, label: str) -> None:
    """Keys strictly increasing, i.e. sorted and unique; name the first line that is not."""
    if all(map(lt, keys, islice(keys, 1, None))):
        return
    n = next(k for k in range(1, len(keys)) if not keys[k - 1] < keys[k])
    if keys[n] == keys[n - 1]:
        raise TsvError(name, n + 1, f"duplicate {label} {keys[n]!r} (also on line {n})")
    raise TsvError(
        name, n + 1, f"not sorted: {label} {keys[n]!r} must come before {keys[n - 1]!r} (line {n})"
    )


# --- Streaming: pools of millions of entities, a block of lines at a time --------------------

BLOCK_LINES = 1 << 16
POOL_FIELDS = ("USCC", "STRATUM", "UNIT")
STRATA_FIELDS = ("USCC", "STRATUM", "SALT")


@dataclass(frozen=True)
class Block:
    """Consecutive lines of pool.tsv, with the same lines of strata.tsv when it is read too.

    ``start`` is the index of the first line; ``labels`` each line's stratum when known (sr1:
    pool.tsv's; sr2: strata.tsv's), ``salts`` sr2's salts when strata.tsv is read."""

    start: int
    usccs: list[str]
    labels: list[str] | None
    units: list[str]
    salts: list[str] | None


def _file_blocks(
    stream: Any, name: str, fields: tuple[str, ...], *, checked: bool, digest: Any
) -> Iterator[tuple[int, list[list[str]]]]:
    """(first line index, columns) of each block of BLOCK_LINES lines of a keyed TSV file,
    hashed into ``digest`` on the way and, unless ``checked``, validated as the whole-file
    parsers do: every rule holds for the file when it holds for each block and the keys
    increase across the blocks' borders. Error lines are numbered in the whole file."""
    start, last, first = 0, None, True
    while True:
        data = b"".join(islice(stream, BLOCK_LINES))
        if not data:
            return
        digest.update(data)
        if checked:
            columns = _trusted_columns(data, len(fields))
        else:
            try:
                columns = _tsv_columns(data, name, fields, optional=(), start=first)
                _check_order(columns[0], name, fields[0])
            except TsvError as exc:
                raise TsvError(name, exc.line and exc.line + start, exc.reason) from None
            key = columns[0][0]
            if last is not None and not last < key:
                if key == last:
                    reason = f"duplicate {fields[0]} {key!r} (also on line {start})"
                else:
                    reason = (
                        f"not sorted: {fields[0]} {key!r} must come before {last!r} (line {start})"
                    )
                raise TsvError(name, start + 1, reason)
            last = columns[0][-1]
        first = False
        yield start, columns
        start += len(columns[0])


@dataclass(frozen=True)
class PoolSummary:
    """What a pass over pool.tsv (and strata.tsv) finds, for files whose writer counted it."""

    size: int
    sha256: str
    strata_sha256: str | None
    sizes: Mapping[str, int]  # stratum sizes (sr1: pool.tsv's; sr2: strata.tsv's)


class PoolFile:
    """pool.tsv — and sr2's private strata.tsv beside it, when held — read a block of lines at
    a time, as often as the draw needs: a pool of ten million entities is never held whole.

    ``open_pool`` (and ``open_strata``) return a new binary stream at each call. Unless
    ``checked`` (the service's own frozen files, read back by their digest), the first pass
    validates the files as `parse_pool`, `parse_strata` and `check_strata` do. That pass also
    gives what `check_params` asks of a pool: its size and, under sr1, its stratum sizes
    (under sr2 the public STRATUM column holds tags, which are never counted)."""

    def __init__(
        self,
        open_pool: Callable[[], Any],
        open_strata: Callable[[], Any] | None = None,
        *,
        sealed: bool = False,
        checked: bool = False,
        summary: PoolSummary | None = None,
    ) -> None:
        if open_strata is not None and not sealed:
            raise Sr1Error("strata.tsv belongs to protocol sr2")
        self._open_pool, self._open_strata = open_pool, open_strata
        self.sealed, self.checked = sealed, checked
        self.has_strata = open_strata is not None
        if summary is not None:  # written and counted by the caller: no pass needed
            self.size, self.sha256 = summary.size, summary.sha256
            self.strata_sha256 = summary.strata_sha256
            self._labels = dict(sorted(summary.sizes.items()))
            return
        pool_digest, strata_digest = hashlib.sha256(), hashlib.sha256()
        labels: Counter[str] = Counter()
        size = 0
        for block in self._read(pool_digest, strata_digest, validate=not checked):
            size += len(block.usccs)
            if block.labels is not None:
                labels.update(block.labels)
        self.size = size
        self.sha256 = pool_digest.hexdigest()
        self.strata_sha256 = strata_digest.hexdigest() if open_strata is not None else None
        self._labels = dict(sorted(labels.items()))

    @classmethod
    def of_bytes(
        cls, pool: bytes, strata: bytes | None = None, *, sealed: bool = False, **kw: Any
    ) -> "PoolFile":
        return cls(
            lambda: io.BytesIO(pool),
            None if strata is None else lambda: io.BytesIO(strata),
            sealed=sealed,
            **kw,
        )

    def __len__(self) -> int:
        return self.size

    def stratum_sizes(self) -> dict[str, int]:
        """N_s of every stratum (sr1's pool.tsv; sr2's strata.tsv when held)."""
        return dict(self._labels)

    def sizes(self) -> dict[str, int]:
        """The stratum sizes as `Strata.sizes` gives them (sr2 with strata.tsv)."""
        return dict(self._labels)

    def blocks(self) -> Iterator[Block]:
        """Every line, a block at a time, in file order (already validated)."""
        return self._read(hashlib.sha256(), hashlib.sha256(), validate=False)

    def _read(self, pool_digest: Any, strata_digest: Any, *, validate: bool) -> Iterator[Block]:
        with self._open_pool() as pool_stream:
            pool_blocks = _file_blocks(
                pool_stream, "pool.tsv", POOL_FIELDS, checked=not validate, digest=pool_digest
            )
            if self._open_strata is None:
                for start, (usccs, strata, units) in pool_blocks:
                    labels = None if self.sealed else list(map(sys.intern, strata))
                    yield Block(start, usccs, labels, list(map(sys.intern, units)), None)
                return
            with self._open_strata() as strata_stream:
                strata_blocks = _file_blocks(
                    strata_stream,
                    "strata.tsv",
                    STRATA_FIELDS,
                    checked=not validate,
                    digest=strata_digest,
                )
                yield from self._sealed_blocks(pool_blocks, strata_blocks, validate)

    def _sealed_blocks(
        self,
        pool_blocks: Iterator[tuple[int, list[list[str]]]],
        strata_blocks: Iterator[tuple[int, list[list[str]]]],
        validate: bool,
    ) -> Iterator[Block]:
        # Both files have one line per entity in the same order, read BLOCK_LINES at a time:
        # their blocks align, and a file that runs out first is found at its border.
        for pool_part, strata_part in zip_longest(pool_blocks, strata_blocks):
            if pool_part is None or strata_part is None:
                held = (pool_part or strata_part)[0]
                raise TsvError(
                    "strata.tsv",
                    held + 1,
                    "must list exactly the pool's entities in the same order "
                    f"({'pool.tsv' if strata_part is None else 'strata.tsv'} goes on)",
                )
            start, (usccs, tag_column, units) = pool_part
            _, (strata_usccs, labels, salts) = strata_part
            labels = list(map(sys.intern, labels))
            if validate:
                if not _all_salts(salts):
                    n = next(
                        n
                        for n, salt in enumerate(salts, start=start + 1)
                        if len(salt) != SALT_LENGTH or not set(salt) <= _HEX
                    )
                    raise TsvError(
                        "strata.tsv", n, f"SALT must be {SALT_LENGTH} lowercase hex digits"
                    )
                try:
                    check_strata(
                        Strata(strata_usccs, labels, salts), Pool(usccs, tag_column, units)
                    )
                except TsvError as exc:
                    raise TsvError(exc.file, exc.line and exc.line + start, exc.reason) from None
            elif strata_usccs != usccs:
                raise Sr1Error("strata.tsv must list exactly the pool's entities")
            yield Block(start, usccs, labels, list(map(sys.intern, units)), salts)


# --- Parameters, commitment, seed -------------------------------------------------------------


def quota_from_ratio(n_s: int, percent: str | int) -> int:
    """ceil(N_s * p / 100) computed exactly from the decimal percent ``p``, capped at N_s."""
    if not isinstance(n_s, int) or isinstance(n_s, bool) or n_s < 0:
        raise ParamsError(f"stratum size must be an integer >= 0, not {n_s!r}")
    if not isinstance(percent, str | int) or isinstance(percent, bool):
        raise ParamsError(f"percent must be a decimal string such as '3.5', not {percent!r}")
    try:
        p = Decimal(percent)
    except InvalidOperation:
        raise ParamsError(f"percent {percent!r} is not a decimal number") from None
    if not p.is_finite() or p < 0:
        raise ParamsError(f"percent {percent!r} must be a finite number >= 0")
    return min(math.ceil(Fraction(p) * n_s / 100), n_s)


def build_params(
    base_params: Mapping[str, Any],
    pool_bytes: bytes,
    roster_bytes: bytes,
    conflicts_bytes: bytes,
    strata_bytes: bytes | None = None,
    *,
    check_tags: bool = True,
    strata: Strata | None = None,
    pool: Pool | None = None,
) -> dict[str, Any]:
    """The §3 parameters: ``base_params`` plus the file digests and pool size, validated
    (and, under sr2, the digest of strata.tsv and the stratum sizes). ``check_tags=False``
    skips recomputing every tag, for a caller that has just computed them from these very
    strata (the freeze), and ``strata`` gives the columns strata.tsv was just written from,
    so the file is not read back (`check_written_strata` checks them instead); ``pool``
    likewise for pool.tsv (`check_pool_columns`)."""
    parse_roster(roster_bytes)
    parse_conflicts(conflicts_bytes)
    if pool is None:
        pool = parse_pool(pool_bytes)
    else:
        check_pool_columns(pool)
    return _complete_params(
        base_params,
        pool,
        pool_bytes,
        roster_bytes,
        conflicts_bytes,
        strata_bytes,
        check_tags=check_tags,
        strata=strata,
    )


def _complete_params(
    base_params: Mapping[str, Any],
    pool: Pool,
    pool_bytes: bytes,
    roster_bytes: bytes,
    conflicts_bytes: bytes,
    strata_bytes: bytes | None = None,
    *,
    check_tags: bool = True,
    strata: Strata | None = None,
) -> dict[str, Any]:
    params = _file_digests(
        base_params, digest_bytes(pool_bytes), len(pool), roster_bytes, conflicts_bytes
    )
    if base_params.get("protocol") == SEALED:
        if strata_bytes is None:
            raise ParamsError("protocol sr2 needs strata.tsv")
        if strata is None:
            strata = parse_strata(strata_bytes)
        else:
            check_written_strata(strata)
        if check_tags:
            check_strata(strata, pool)
        elif strata.usccs != pool.usccs:
            raise ParamsError("strata.tsv must list exactly the pool's entities")
        params["strata_sha256"] = digest_bytes(strata_bytes)
        params["strata_sizes"] = strata.sizes()
    elif strata_bytes is not None or strata is not None:
        raise ParamsError("strata.tsv belongs to protocol sr2; params.protocol is not 'sr2'")
    check_params(params, pool, strata)
    return params


def pool_file_params(
    base_params: Mapping[str, Any], pool: PoolFile, roster_bytes: bytes, conflicts_bytes: bytes
) -> dict[str, Any]:
    """`build_params` for a pool read as a `PoolFile` (validated and hashed by its own pass,
    or counted by the writer that just wrote it): the same parameters, and neither pool.tsv
    nor strata.tsv held whole."""
    parse_roster(roster_bytes)
    parse_conflicts(conflicts_bytes)
    params = _file_digests(base_params, pool.sha256, len(pool), roster_bytes, conflicts_bytes)
    sealed = base_params.get("protocol") == SEALED
    if sealed != pool.sealed:
        raise ParamsError("the pool was read for the other protocol (sr1 or sr2)")
    if sealed:
        if not pool.has_strata:
            raise ParamsError("protocol sr2 needs strata.tsv")
        params["strata_sha256"] = pool.strata_sha256
        params["strata_sizes"] = pool.sizes()
    check_params(params, pool, pool if pool.has_strata else None)
    return params


def _file_digests(
    base_params: Mapping[str, Any],
    pool_sha256: str,
    pool_size: int,
    roster_bytes: bytes,
    conflicts_bytes: bytes,
) -> dict[str, Any]:
    computed = [key for key in (*FILE_PARAM_KEYS, *SEALED_PARAM_KEYS) if key in base_params]
    if computed:
        raise ParamsError(
            f"base params must not contain {', '.join(computed)}: they are computed from the files"
        )
    return {
        **base_params,
        "pool_sha256": pool_sha256,
        "pool_size": pool_size,
        "roster_sha256": digest_bytes(roster_bytes),
        "conflicts_sha256": digest_bytes(conflicts_bytes),
    }


def check_params(
    params: Mapping[str, Any], pool: "Pool | PoolFile", strata: "Strata | PoolFile | None" = None
) -> None:
    """Raise ParamsError unless ``params`` are complete §3 parameters fit for ``pool``
    (under sr2, for ``strata`` too when it is held).

    The digests' values are not compared with files here: the caller holds the bytes.
    """
    if not isinstance(params, Mapping):
        raise ParamsError("params must be a JSON object")
    protocol = params.get("protocol")
    if protocol not in PROTOCOLS:
        raise ParamsError(f"params.protocol must be 'sr1' or 'sr2', not {protocol!r}")
    sealed = protocol == SEALED
    expected = (*BASE_PARAM_KEYS, *FILE_PARAM_KEYS, *(SEALED_PARAM_KEYS if sealed else ()))
    missing = [key for key in expected if key not in params]
    if missing:
        raise ParamsError(f"params lack {', '.join(missing)}")
    extra = sorted(key for key in params if key not in expected)
    if extra:
        raise ParamsError(f"params have unexpected keys: {', '.join(map(str, extra))}")
    _check_text(params["batch"], "params.batch")
    _check_text(params["entropy_plan"], "params.entropy_plan", allow_empty=True)
    digests = ("pool_sha256", "roster_sha256", "conflicts_sha256")
    for key in (*digests, "strata_sha256") if sealed else digests:
        value = params[key]
        if not (isinstance(value, str) and len(value) == 64 and set(value) <= _HEX):
            raise ParamsError(f"params.{key} must be 64 lowercase hex digits, not {value!r}")
    if not _is_int(params["pool_size"]) or params["pool_size"] != len(pool):
        raise ParamsError(
            f"params.pool_size is {params['pool_size']!r} but pool.tsv has {len(pool)} entities"
        )
    if sealed:
        sizes = _check_strata_sizes(params["strata_sizes"], params["pool_size"])
        if strata is not None and strata.sizes() != sizes:
            raise ParamsError(
                f"params.strata_sizes {sizes} differ from strata.tsv's {strata.sizes()}"
            )
    else:
        sizes = pool.stratum_sizes()
    _check_quotas(params["quotas"], sizes)
    _check_team(params["team"])
    if not isinstance(params["cross_unit"], bool):
        raise ParamsError(f"params.cross_unit must be true or false, not {params['cross_unit']!r}")
    max_load = params["max_load"]
    if max_load is not None and not (_is_int(max_load) and max_load >= 1):
        raise ParamsError(f"params.max_load must be null or an integer >= 1, not {max_load!r}")


def _check_strata_sizes(sizes: Any, pool_size: int) -> dict[str, int]:
    if not isinstance(sizes, Mapping) or not sizes:
        raise ParamsError("params.strata_sizes must be a non-empty object {stratum: size}")
    for stratum, size in sizes.items():
        _check_text(stratum, "params.strata_sizes key")
        if not _is_int(size) or size < 0:
            raise ParamsError(f"params.strata_sizes[{stratum!r}] must be an integer >= 0")
    if sum(sizes.values()) != pool_size:
        raise ParamsError(
            f"params.strata_sizes add up to {sum(sizes.values())}, not the pool's {pool_size}"
        )
    return dict(sizes)


def _check_quotas(quotas: Any, sizes: Mapping[str, int]) -> None:
    if not isinstance(quotas, Mapping):
        raise ParamsError("params.quotas must be an object {stratum: quota}")
    for stratum, size in sizes.items():
        if stratum not in quotas:
            raise ParamsError(
                f"params.quotas: stratum {stratum!r} has {size} entities in the pool but no quota"
            )
        quota = quotas[stratum]
        if not _is_int(quota) or not 0 <= quota <= size:
            raise ParamsError(
                f"params.quotas[{stratum!r}] must be an integer from 0 to {size} "
                f"(the stratum's size), not {quota!r}"
            )
    for stratum in quotas:
        if stratum not in sizes:
            raise ParamsError(f"params.quotas: {stratum!r} is not a stratum of the pool")


def _check_team(team: Any) -> None:
    if not isinstance(team, list) or not team:
        raise ParamsError("params.team must be a non-empty list of slots")
    for n, slot in enumerate(team):
        where = f"params.team[{n}]"
        if not isinstance(slot, Mapping) or sorted(slot) != sorted(SLOT_KEYS):
            raise ParamsError(f"{where} must be an object with exactly {', '.join(SLOT_KEYS)}")
        _check_text(slot["group"], f"{where}.group")
        if not _is_int(slot["count"]) or slot["count"] < 1:
            raise ParamsError(f"{where}.count must be an integer >= 1, not {slot['count']!r}")
        if slot["qualification"] is not None:
            _check_text(slot["qualification"], f"{where}.qualification")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_text(
    value: Any, where: str, error: type[Sr1Error] = ParamsError, allow_empty: bool = False
) -> None:
    if not isinstance(value, str):
        raise error(f"{where} must be a string, not {value!r}")
    if not value and not allow_empty:
        raise error(f"{where} must not be empty")
    if not unicodedata.is_normalized("NFC", value):
        raise error(f"{where} is not in Unicode NFC form")


def commitment(params: Mapping[str, Any]) -> str:
    """H(canonical_json(params))."""
    return H(canonical_json(params))


def seed(commitment: str, entropy: Sequence[str]) -> str:
    """H(commitment, then each entropy string, joined by LF)."""
    check_entropy(entropy)
    return H("\n".join([commitment, *entropy]))


def check_entropy(entropy: Any) -> None:
    """Raise EntropyError unless ``entropy`` is a non-empty list of valid strings."""
    if not isinstance(entropy, list | tuple) or not entropy:
        raise EntropyError("entropy must be a non-empty list of strings")
    for n, text in enumerate(entropy):
        where = f"entropy[{n}]"
        if not isinstance(text, str) or not text:
            raise EntropyError(f"{where} must be a non-empty string, not {text!r}")
        if "\n" in text or "\r" in text:
            raise EntropyError(f"{where} contains a line break; enter each source on its own")
        if not unicodedata.is_normalized("NFC", text):
            raise EntropyError(f"{where} is not in Unicode NFC form")


# --- The draw --------------------------------------------------------------------------------


# Sorts after every 32-byte digest, for a stratum that must be ranked whole.
_ABOVE_ALL_DIGESTS = b"\xff" * 33


def _head_bounds(sizes: Mapping[str, int], quotas: Mapping[str, int]) -> dict[str, bytes]:
    """Each stratum's head bound: the start of its (ticket, uscc) order to sort.

    Tickets are uniform, so about q of a stratum's n entities fall below the fraction q/n of
    their range; the bound is raised by some eight standard deviations (8·sqrt(q)). Every
    entity above a stratum's bound comes after every one below it, so the sorted entities
    below it are a prefix of the stratum's order. Should a bound keep fewer than the quota
    (not expected in practice), that stratum is ranked whole."""
    return {
        stratum: _ticket_bound(quota + 8 * math.isqrt(quota) + 16, sizes[stratum])
        for stratum, quota in quotas.items()
        if quota > 0
    }


def _ticket_bound(k: int, n: int) -> bytes:
    """A digest value with about k of n uniform tickets below it (all of them when k >= n)."""
    if k >= n:
        return _ABOVE_ALL_DIGESTS
    return (-(-(k << 256) // n)).to_bytes(32, "big")


@dataclass
class DrawStats:
    """Work counters, for benchmarks and tests."""

    entity_tickets: int = 0  # one per pool entity, and again per stratum ranked whole
    # TI and TR tickets computed; the naive rule computes one per eligible inspector.
    inspector_tickets: int = 0


@dataclass
class _Stratum:
    """A stratum's entities in ticket order, as far as computed: the selected, then the reserve.

    Selection sorts a little more than the quota; the whole stratum is ranked only if
    replacements run past that (most batches never withdraw an entity).
    """

    label: str
    size: int
    quota: int
    ranked: list[tuple[bytes, str]]  # a prefix of the stratum's ranking, at least quota long
    reserve_used: int = 0


@dataclass
class _Task:
    """A selected entity and its team (a place emptied by an unfilled recusal holds None)."""

    uscc: str
    stratum: str | None  # None for a sealed (sr2) draw checked without strata.tsv
    unit: str
    ticket: str
    blocked: frozenset[str]  # declared conflicts and recused inspectors
    team: list[str | None] = field(default_factory=list)
    unassigned: bool = False
    recusals: int = 0


class _LoadLevels:
    """One slot's candidate inspectors grouped by current load, so pairing reads the lowest
    loads first and computes tickets only for the level that decides."""

    def __init__(self, members: Iterable[str], max_load: int | None) -> None:
        self._by_load: dict[int, set[str]] = {}
        self._max_load = max_load
        for inspector in members:
            self.add(inspector, 0)

    def add(self, inspector: str, load: int) -> None:
        self._by_load.setdefault(load, set()).add(inspector)

    def remove(self, inspector: str, load: int) -> None:
        level = self._by_load[load]
        level.discard(inspector)
        if not level:
            del self._by_load[load]

    def ascending(self) -> Iterator[set[str]]:
        """Non-empty levels, lowest load first, stopping at max_load."""
        for load in sorted(self._by_load):
            if self._max_load is not None and load >= self._max_load:
                return
            yield self._by_load[load]


class Draw:
    """One batch's draw: selection and pairing on construction (§6), then events (§7).

    ``conflicts`` maps a USCC to the inspectors in declared conflict with it. A verifier
    without the private conflicts.tsv passes the bundle's ``excluded_by_conflict`` instead,
    which holds every entry the draw can ever consult.

    Under sr2 the draw needs ``strata`` (strata.tsv, already checked against the pool with
    `check_strata`). The public, without it, passes the published ``selection`` instead: the
    draw then checks its size, that it is made of distinct pool entities, and orders and pairs
    it; replacements are taken from the published events (``apply_event(..., replacement=)``).
    """

    def __init__(
        self,
        params: Mapping[str, Any],
        entropy: Sequence[str],
        pool: Pool | PoolFile,
        roster: Sequence[Inspector],
        conflicts: Mapping[str, Collection[str]],
        strata: Strata | None = None,
        selection: Sequence[str] | None = None,
    ) -> None:
        if isinstance(pool, PoolFile):  # read a block at a time; it holds its own strata.tsv
            if strata is not None:
                raise Sr1Error("a PoolFile reads its strata.tsv itself")
            held: Strata | PoolFile | None = pool if pool.has_strata else None
        else:
            held = strata
        check_params(params, pool, held)
        self.protocol: str = params["protocol"]
        self.sealed = self.protocol == SEALED
        if isinstance(pool, PoolFile) and pool.sealed != self.sealed:
            raise Sr1Error("the pool file was read for the other protocol (sr1 or sr2)")
        if not self.sealed and (held is not None or selection is not None):
            raise Sr1Error("strata.tsv and a given selection belong to protocol sr2")
        if self.sealed and (held is None) == (selection is None):
            raise Sr1Error("an sr2 draw needs either strata.tsv or the published selection")
        self._strata_held = held is not None
        self._memory: Pool | None = None
        if isinstance(pool, PoolFile):
            self._blocks: Callable[[], Iterator[Block]] = pool.blocks
        else:
            self._memory = pool
            # Each pool line's stratum, when known (sr1: pool.tsv; sr2: strata.tsv).
            labels = pool.strata if not self.sealed else (strata.strata if strata else None)
            block = Block(0, pool.usccs, labels, pool.units, strata.salts if strata else None)
            self._blocks = lambda: iter((block,))
        # N_s of every stratum: sr2 commits them in params, sr1 counts its pool.tsv.
        self._sizes: dict[str, int] = (
            dict(params["strata_sizes"]) if self.sealed else pool.stratum_sizes()
        )
        # (stratum when known, unit) of the pool entities the draw has looked at so far.
        self._facts: dict[str, tuple[str | None, str]] = {}
        self._given = selection
        self.params: dict[str, Any] = json.loads(canonical_json(params))
        self.entropy = list(entropy)
        self.commitment = commitment(self.params)
        self.seed = seed(self.commitment, self.entropy)
        self.chain = self.seed
        self.stats = DrawStats()
        self._conflicts = conflicts
        self._slots: list[dict[str, Any]] = self.params["team"]
        self._slot_of_place = [
            n for n, slot in enumerate(self._slots) for _ in range(slot["count"])
        ]
        self._cross_unit: bool = self.params["cross_unit"]
        self._unit_of = {i.inspector_id: i.unit for i in roster}
        self._id_bytes = {i: i.encode() for i in self._unit_of}
        members: dict[str, set[str]] = {}
        for inspector, unit in self._unit_of.items():
            members.setdefault(unit, set()).add(inspector)
        self._unit_members = {unit: frozenset(ids) for unit, ids in members.items()}
        self._load = dict.fromkeys(self._unit_of, 0)
        self._slots_of: dict[str, list[int]] = {i: [] for i in self._unit_of}
        for n, slot in enumerate(self._slots):
            for inspector in roster:
                if inspector.group == slot["group"] and (
                    slot["qualification"] is None
                    or slot["qualification"] in inspector.qualifications
                ):
                    self._slots_of[inspector.inspector_id].append(n)
        self._levels = [
            _LoadLevels(
                (i for i, slots in self._slots_of.items() if n in slots),
                self.params["max_load"],
            )
            for n in range(len(self._slots))
        ]
        self._tasks: dict[str, _Task] = {}  # currently selected, in the order they entered
        self._entered: list[str] = []  # every entity ever selected, withdrawn ones included
        self._withdrawn: dict[str, int] = {}  # uscc -> seq of the event that withdrew it
        self._strata: dict[str, _Stratum] = {}
        self._events: list[dict[str, Any]] = []
        self._drawn = [self._select_entity(d, u) for d, u in self._initial_selection()]

    # Reading the state

    @property
    def loads(self) -> dict[str, int]:
        """Current number of entities each inspector is paired with."""
        return dict(self._load)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Applied events with their outcome and chain, as published."""
        return [json.loads(canonical_json(event)) for event in self._events]

    def selected(self) -> list[dict[str, Any]]:
        """The draw as made, before any event (the bundle's ``selected``)."""
        return [{**entry, "team": list(entry["team"])} for entry in self._drawn]

    def final(self) -> list[dict[str, Any]]:
        """Every entity currently selected, in entering order, with its current team."""
        return [
            {"uscc": task.uscc, "team": [i for i in task.team if i is not None]}
            for task in self._tasks.values()
        ]

    def understaffed(self) -> list[str]:
        """Selected entities with a place that a recusal left empty."""
        return [task.uscc for task in self._tasks.values() if None in task.team]

    def excluded_by_conflict(self) -> dict[str, list[str]]:
        """Declared conflicts of every entity ever selected (those without any left out)."""
        return {
            uscc: sorted(self._conflicts[uscc])
            for uscc in self._entered
            if self._conflicts.get(uscc)
        }

    def task_facts(self, uscc: str) -> tuple[str | None, str]:
        """The stratum and entity ticket (hex) of a currently selected entity.

        Under sr2 both are internal: the service records them, the bundle never carries them.
        """
        task = self._tasks[uscc]
        return task.stratum, task.ticket

    def unchecked(self) -> list[str]:
        """What this draw could not recompute (a sealed draw without strata.tsv)."""
        if not self.sealed or self._strata_held:
            return []
        return [
            "which entities each stratum's quota took (the selection per stratum)",
            "which reserve entity replaced a withdrawn one",
        ]

    def to_bundle(self, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The published bundle.json (§8); ``meta`` is informative and outside every hash."""
        bundle = {
            "protocol": self.protocol,
            "params": json.loads(canonical_json(self.params)),
            "commitment": self.commitment,
            "entropy": list(self.entropy),
            "seed": self.seed,
            "selected": self.selected(),
            "excluded_by_conflict": self.excluded_by_conflict(),
            "events": self.events,
            "final": self.final(),
        }
        if meta is not None:
            bundle["meta"] = dict(meta)
        return bundle

    # Selection and pairing (§6)

    def _initial_selection(self) -> list[tuple[bytes, str]]:
        if self._given is not None:
            return self._given_selection(self._given)
        quotas = self.params["quotas"]
        heads = self._rank_below(_head_bounds(self._sizes, quotas))
        short = {stratum for stratum, head in heads.items() if len(head) < quotas[stratum]}
        if short:  # not expected in practice: those strata are ranked whole
            heads |= self._rank_below(dict.fromkeys(short, _ABOVE_ALL_DIGESTS))
        chosen: list[tuple[bytes, str]] = []
        for stratum, head in heads.items():
            self._strata[stratum] = _Stratum(stratum, self._sizes[stratum], quotas[stratum], head)
            chosen += head[: quotas[stratum]]
        if self.sealed:  # the order, and so the pairing, reveals nothing about the strata
            return sorted(self._order_keyed(u for _, u in chosen))
        chosen.sort()
        return chosen

    def _order_keyed(self, usccs: Iterable[str]) -> list[tuple[bytes, str]]:
        """(TP(u), u) for sr2's selected list."""
        usccs = list(usccs)
        return list(zip(_ticket_digests(f"{self.seed}:P:", usccs), usccs, strict=True))

    def _given_selection(self, usccs: Sequence[str]) -> list[tuple[bytes, str]]:
        """The published sr2 selection, checked as far as the public can, in TP order."""
        quota = sum(self.params["quotas"].values())
        if not isinstance(usccs, Sequence) or len(usccs) != quota:
            found = len(usccs) if isinstance(usccs, Sequence) else usccs
            raise Sr1Error(f"selected: the quotas add up to {quota} entities, found {found}")
        self._find(uscc for uscc in usccs if isinstance(uscc, str))
        seen: set[str] = set()
        for n, uscc in enumerate(usccs):
            if not isinstance(uscc, str) or uscc not in self._facts:
                raise Sr1Error(f"selected[{n}]: {uscc!r} is not an entity of pool.tsv")
            if uscc in seen:
                raise Sr1Error(f"selected[{n}]: {uscc} is selected twice")
            seen.add(uscc)
        return sorted(self._order_keyed(usccs))

    def _rank_below(self, bounds: Mapping[str, bytes]) -> dict[str, list[tuple[bytes, str]]]:
        """For each stratum in ``bounds``, its (TE(u), u) below the stratum's bound, sorted:
        a prefix of the stratum's order. One pass over the pool, a block at a time; only
        the strata asked for are ticketed, and only what falls below a bound is kept."""
        heads: dict[str, list[tuple[bytes, str]]] = {stratum: [] for stratum in bounds}
        widest = max(bounds.values(), default=b"")
        every = set(bounds) >= {stratum for stratum, n in self._sizes.items() if n}
        for block in self._blocks():
            assert block.labels is not None  # sr1, or sr2 with strata.tsv
            columns = [block.usccs, block.labels, block.units, block.salts]
            if not every and not set(bounds) >= set(block.labels):
                keep = list(map(bounds.__contains__, block.labels))
                columns = [None if c is None else list(compress(c, keep)) for c in columns]
            usccs, labels, units, salts = columns
            digests = self._entity_digests(usccs, salts)
            for digest, uscc, label, unit in compress(
                zip(digests, usccs, labels, units, strict=True), map(widest.__gt__, digests)
            ):
                bound = bounds.get(label)
                if bound is not None and digest < bound:
                    heads[label].append((digest, uscc))
                    self._facts[uscc] = (label, unit)
        for head in heads.values():
            head.sort()
        return heads

    def _entity_digests(self, usccs: list[str], salts: list[str] | None) -> list[bytes]:
        """TE of these pool entities (salted under sr2)."""
        if salts is None:
            suffixes: Iterable[str] = usccs
        else:
            suffixes = map("{}:{}".format, usccs, salts)
        digests = _ticket_digests(_entity_prefix(self.seed), suffixes)
        self.stats.entity_tickets += len(digests)
        return digests

    def _find(self, usccs: Iterable[str]) -> None:
        """Learn the stratum (when known) and unit of those of ``usccs`` in the pool."""
        wanted = {uscc for uscc in usccs if uscc not in self._facts}
        if not wanted:
            return
        for block in self._blocks():
            if self._memory is not None:  # held whole: a binary search each
                lines = [n for n in map(self._memory.index, wanted) if n is not None]
            elif wanted.isdisjoint(block.usccs):
                continue
            else:
                lines = [n for n, uscc in enumerate(block.usccs) if uscc in wanted]
            for n in lines:
                uscc = block.usccs[n]
                label = block.labels[n] if block.labels is not None else None
                self._facts[uscc] = (label, block.units[n])
                wanted.discard(uscc)
            if not wanted:
                return

    def _in_pool(self, uscc: str) -> bool:
        self._find((uscc,))
        return uscc in self._facts

    def _select_entity(self, digest: bytes | None, uscc: str) -> dict[str, Any]:
        """Add an entity to the selection, pair it, and describe it as ``selected`` does."""
        self._find((uscc,))
        stratum, unit = self._facts[uscc]  # selected entities come from the pool
        task = _Task(
            uscc=uscc,
            stratum=stratum,
            unit=unit,
            ticket=digest.hex() if digest is not None else "",
            blocked=frozenset(self._conflicts.get(uscc, ())),
        )
        team = self._form_team(task)
        if team is None:
            task.unassigned = True
        else:
            task.team = list(team)
            for inspector in team:
                self._change_load(inspector, +1)
        self._tasks[uscc] = task
        self._entered.append(uscc)
        if self.sealed:
            return {"uscc": uscc, "team": list(team or []), "unassigned": task.unassigned}
        return {
            "uscc": uscc,
            "stratum": task.stratum,
            "ticket": task.ticket,
            "team": list(team or []),
            "unassigned": task.unassigned,
        }

    def _form_team(self, task: _Task) -> list[str] | None:
        """Fill every slot in order; None when one cannot be filled (loads change later)."""
        team: list[str] = []
        prefix = _pairing_prefix(self.seed, task.uscc)
        for n, slot in enumerate(self._slots):
            picked = self._pick(n, slot["count"], task, team, prefix)
            if picked is None:
                return None
            team += picked
        return team

    def _pick(
        self, slot: int, need: int, task: _Task, team: Sequence[str | None], prefix: str
    ) -> list[str] | None:
        """The ``need`` eligible inspectors with the smallest (load, H(prefix + i), i).

        Equal to ranking every eligible inspector, but tickets are computed only for the
        load levels that are reached.
        """
        # Left out: declared conflicts and recusals, the team so far, and (cross-unit) the
        # inspectors of the entity's own unit — set differences, at C speed.
        excluded = (
            task.blocked,
            {i for i in team if i is not None},
            self._unit_members.get(task.unit, frozenset()) if self._cross_unit else frozenset(),
        )
        chosen: list[str] = []
        for level in self._levels[slot].ascending():
            candidates = level.difference(*excluded)
            chosen += self._smallest(candidates, prefix, need - len(chosen))
            if len(chosen) == need:
                return chosen
        return None

    def _smallest(self, candidates: set[str], prefix: str, k: int) -> list[str]:
        """The ``k`` candidates of one load level first in (ticket, id) order, in that order
        (every candidate's ticket is computed: the smallest cannot be known otherwise)."""
        if len(candidates) <= 1:
            return list(candidates)
        ids = list(candidates)
        self.stats.inspector_tickets += len(ids)
        digests = _suffix_digests(prefix, map(self._id_bytes.__getitem__, ids))
        ranked = zip(digests, ids, strict=True)
        first = sorted(ranked)[:k] if k >= len(ids) // 4 else heapq.nsmallest(k, ranked)
        return [i for _, i in first]

    def _change_load(self, inspector: str, delta: int) -> None:
        old = self._load[inspector]
        self._load[inspector] = old + delta
        for slot in self._slots_of[inspector]:
            self._levels[slot].remove(inspector, old)
            self._levels[slot].add(inspector, old + delta)

    # Events (§7)

    def apply_event(
        self, event: Mapping[str, Any], *, replacement: str | None = None
    ) -> dict[str, Any]:
        """Apply the next event and extend the chain; return its outcome.

        ``replacement`` is the published replacement entity of a ``replace_entity`` event,
        used only by a sealed draw checked without strata.tsv (it cannot rank the reserve).
        Raises EventError, leaving the draw unchanged, when the event cannot be applied.
        """
        record, task = self._checked_event(event)
        if record["type"] == "recuse":
            outcome = self._recuse(task, record["inspector"])
        else:
            outcome = self._replace_entity(task, record["seq"], replacement)
        self.chain = H(self.chain + "\n" + canonical_json(record))
        self._events.append({**record, "outcome": outcome, "chain": self.chain})
        return json.loads(canonical_json(outcome))

    def _checked_event(self, event: Mapping[str, Any]) -> tuple[dict[str, Any], _Task]:
        """The event reduced to its hashed fields, and the task it concerns; or EventError."""
        if not isinstance(event, Mapping):
            raise EventError("an event must be a JSON object")
        expected_seq = len(self._events) + 1
        seq = event.get("seq")
        if not _is_int(seq) or seq != expected_seq:
            raise EventError(
                f"event seq is {seq!r} but the next event must have seq {expected_seq}"
            )
        kind = event.get("type")
        if kind not in EVENT_FIELDS:
            raise EventError(
                f"event {seq}: unknown type {kind!r}; expected 'recuse' or 'replace_entity'"
            )
        fields = EVENT_FIELDS[kind]
        missing = [key for key in fields if key not in event]
        if missing:
            raise EventError(f"event {seq} ({kind}) lacks {', '.join(missing)}")
        extra = sorted(str(key) for key in event if key not in fields)
        if extra:
            raise EventError(f"event {seq} ({kind}) has unexpected fields: {', '.join(extra)}")
        for key in fields[2:]:
            _check_text(event[key], f"event {seq}: {key}", EventError)
        if not event["reason"].strip():
            raise EventError(f"event {seq}: a reason is required")
        task = self._current_task(seq, event["uscc"])
        if kind == "recuse":
            inspector = event["inspector"]
            if inspector not in self._load:
                raise EventError(f"event {seq}: inspector {inspector} is not in the roster")
            if inspector not in task.team:
                members = [i for i in task.team if i is not None]
                raise EventError(
                    f"event {seq}: inspector {inspector} is not in the team of {task.uscc} "
                    f"(team: {', '.join(members) or 'none'})"
                )
        return {key: event[key] for key in fields}, task

    def _current_task(self, seq: int, uscc: str) -> _Task:
        task = self._tasks.get(uscc)
        if task is not None:
            return task
        if uscc in self._withdrawn:
            reason = f"was already withdrawn by event {self._withdrawn[uscc]}"
        elif not self._in_pool(uscc):
            reason = "is not in the pool"
        else:
            reason = "is not selected in this draw"
        raise EventError(f"event {seq}: entity {uscc} {reason}")

    def _recuse(self, task: _Task, inspector: str) -> dict[str, Any]:
        place = task.team.index(inspector)
        self._change_load(inspector, -1)
        task.blocked = task.blocked | {inspector}
        task.recusals += 1
        prefix = _replacement_prefix(self.seed, task.uscc, task.recusals)
        picked = self._pick(self._slot_of_place[place], 1, task, task.team, prefix)
        replacement = picked[0] if picked else None
        task.team[place] = replacement
        if replacement is not None:
            self._change_load(replacement, +1)
        return {"replacement": replacement}

    def _replace_entity(self, task: _Task, seq: int, given: str | None) -> dict[str, Any]:
        if task.stratum is None:  # sealed, without strata.tsv: the published replacement
            if given is not None and (not self._in_pool(given) or given in self._entered):
                where = "was already selected" if self._in_pool(given) else "is not in the pool"
                raise EventError(f"event {seq}: the replacement {given} {where}")
            following = None if given is None else (None, given)
        else:
            following = None
        for inspector in task.team:
            if inspector is not None:
                self._change_load(inspector, -1)
        del self._tasks[task.uscc]
        self._withdrawn[task.uscc] = seq
        if task.stratum is not None:
            following = self._next_from_reserve(self._strata[task.stratum])
        if following is None:
            return {"replacement_uscc": None}
        entry = self._select_entity(*following)
        return {
            "replacement_uscc": entry["uscc"],
            "team": entry["team"],
            "unassigned": entry["unassigned"],
        }

    def _next_from_reserve(self, stratum: _Stratum) -> tuple[bytes, str] | None:
        """The first entity of the stratum's reserve not yet selected, or None."""
        position = stratum.quota + stratum.reserve_used
        wanted = len(stratum.ranked)
        # Past the head: a longer prefix, about twice as long each time (never the whole
        # stratum held at once unless replacements reach that far).
        while position >= len(stratum.ranked) and len(stratum.ranked) < stratum.size:
            wanted = max(2 * wanted, position + 1) + 16
            bound = _ticket_bound(wanted, stratum.size)
            stratum.ranked = self._rank_below({stratum.label: bound})[stratum.label]
        if position >= len(stratum.ranked):
            return None
        stratum.reserve_used += 1
        return stratum.ranked[position]


def run(
    pool_bytes: bytes,
    roster_bytes: bytes,
    conflicts_bytes: bytes,
    base_params: Mapping[str, Any],
    entropy: Sequence[str],
    events: Iterable[Mapping[str, Any]],
    meta: Mapping[str, Any] | None = None,
    strata_bytes: bytes | None = None,
) -> dict[str, Any]:
    """Draw from the frozen files, apply the events, and return the bundle (sr2 needs
    ``strata_bytes``)."""
    pool = parse_pool(pool_bytes)
    roster = parse_roster(roster_bytes)
    conflicts = parse_conflicts(conflicts_bytes)
    params = _complete_params(
        base_params, pool, pool_bytes, roster_bytes, conflicts_bytes, strata_bytes
    )
    strata = parse_strata(strata_bytes) if strata_bytes is not None else None
    draw = Draw(params, entropy, pool, roster, conflicts_by_entity(conflicts), strata)
    for event in events:
        draw.apply_event(event)
    return draw.to_bundle(meta)


# Beacon rounds (drand). A batch whose entropy is a public beacon round commits, inside its
# entropy plan, to the chain (hash, scheme, public key) and the round; its one entropy string
# is then fixed by that round's randomness, which is SHA-256 of the round's signature.
BEACON_PLAN_PREFIX = "drand-beacon"
_BEACON_PLAN = re.compile(
    BEACON_PLAN_PREFIX
    + r" chain=(?P<chain>[0-9a-f]{64}) round=(?P<round>[1-9][0-9]{0,15})"
    + r" scheme=(?P<scheme>[a-z0-9-]{1,64}) public_key=(?P<public_key>[0-9a-f]{64,512})"
)


class BeaconError(Sr1Error):
    """A beacon round that does not match the committed chain and round, or itself."""


def beacon_round_at(genesis_time: int, period: int, unix_time: int) -> int:
    """The first round published at or after ``unix_time`` (round 1 is published at genesis)."""
    if unix_time <= genesis_time:
        return 1
    return -(-(unix_time - genesis_time) // period) + 1


def beacon_round_time(genesis_time: int, period: int, round_number: int) -> int:
    """When ``round_number`` is published (Unix seconds)."""
    return genesis_time + (round_number - 1) * period


def beacon_plan(chain_hash: str, round_number: int, scheme: str, public_key: str) -> str:
    """The committed words that fix a beacon draw's chain and round (inside entropy_plan)."""
    return (
        f"{BEACON_PLAN_PREFIX} chain={chain_hash} round={round_number} "
        f"scheme={scheme} public_key={public_key}"
    )


def parse_beacon_plan(entropy_plan: str) -> dict[str, Any] | None:
    """The chain and round an entropy plan commits to, or None for another kind of entropy."""
    found = _BEACON_PLAN.search(entropy_plan)
    if found is None:
        return None
    plan: dict[str, Any] = found.groupdict()
    plan["round"] = int(plan["round"])
    return plan


def beacon_entropy(chain_hash: str, round_number: int, randomness: str) -> str:
    """The one entropy string of a beacon draw."""
    return f"drand {chain_hash} round {round_number} randomness {randomness}"


def check_beacon_round(plan: Mapping[str, Any], served: Any) -> str:
    """Check a round as served against the committed plan and itself; returns the entropy
    string it fixes. (The BLS signature is checked apart, by a library that has the curve.)"""
    if not isinstance(served, dict):
        raise BeaconError("the beacon round must be a JSON object")
    if served.get("round") != plan["round"]:
        raise BeaconError(
            f"the beacon round is {served.get('round')!r}, the commitment names {plan['round']}"
        )
    signature, randomness = served.get("signature"), served.get("randomness")
    for name, value in (("signature", signature), ("randomness", randomness)):
        if not isinstance(value, str) or not value or set(value) - _HEX:
            raise BeaconError(f"the beacon round's {name} must be lowercase hex")
    if len(signature) % 2:
        raise BeaconError("the beacon round's signature has an odd number of hex digits")
    expected = digest_bytes(bytes.fromhex(signature))
    if randomness != expected:
        raise BeaconError(
            f"the beacon round's randomness {randomness} is not SHA-256 of its signature "
            f"({expected})"
        )
    return beacon_entropy(plan["chain"], plan["round"], randomness)
