"""Verify a published sr1 or sr2 bundle: recompute everything and name the first difference.

Usage: ``python3 verify.py BUNDLE_DIR [-v]``. The folder holds ``bundle.json``, ``pool.tsv``,
``roster.tsv`` and, when it was published, ``conflicts.tsv``; an auditor's copy of a sealed
(sr2) draw also holds ``strata.tsv``. Exit status: 0 verified, 1 a difference was found, 2 the
input could not be read.

A sealed draw verified without strata.tsv is checked as far as the public can: everything
but which entities each stratum's quota took and which reserve entity replaced a withdrawn
one. The verdict says so, and names the digest the auditor's strata.tsv must have.

The checks run in the protocol's order and stop at the first difference: the file digests,
the parameters (pool size, quotas, team), the commitment, the seed, the selection and its
tickets, the pairing, every event's outcome and hash chain, the conflicts that touched
selected entities, and the final state. Without conflicts.tsv the pairing is recomputed from
the bundle's own ``excluded_by_conflict``, which then cannot be checked against the digest.

Every rule comes from sr1.py, the code the product draws with; citizens get both in one
file from ``supervision.draw.standalone_verifier_source()``.
"""

import argparse
import io
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

# sr1-import-begin: the standalone script carries sr1.py's code here instead
try:
    from . import sr1
except ImportError:  # run as a plain script beside sr1.py
    import sr1  # type: ignore[no-redef]
# sr1-import-end

BUNDLE_KEYS = (
    "protocol",
    "params",
    "commitment",
    "entropy",
    "seed",
    "selected",
    "excluded_by_conflict",
    "events",
    "final",
)
# A beacon draw's bundle carries the round as the beacon served it (verbatim JSON text).
OPTIONAL_KEYS = ("beacon",)
INFORMATIVE_KEYS = ("meta",)
SELECTION_KEYS = {"sr1": ("uscc", "stratum", "ticket"), "sr2": ("uscc",)}
_T = TypeVar("_T")


@dataclass(frozen=True)
class VerifyResult:
    """``ok`` when everything matched; otherwise ``first_difference`` says where it did not.

    ``details`` lists the checks that passed, in order. ``readable`` is False when the
    bundle could not be read at all (then ``first_difference`` says why).
    """

    ok: bool
    first_difference: str | None
    details: tuple[str, ...]
    readable: bool = True
    # What could not be checked (a sealed draw without strata.tsv), in plain words.
    unchecked: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        if self.ok:
            return 0
        return 1 if self.readable else 2


class _Difference(Exception):
    """The first difference between the bundle and the recomputation."""


class _Unreadable(Exception):
    """The bundle folder cannot be read."""


# --- Verification ---------------------------------------------------------------------------


def verify_bundle(
    bundle: Any,
    pool_bytes: bytes | Path,
    roster_bytes: bytes,
    conflicts_bytes: bytes | None = None,
    strata_bytes: bytes | Path | None = None,
) -> VerifyResult:
    """Recompute the bundle from its files; ``conflicts_bytes`` is None when kept private,
    ``strata_bytes`` (sr2) None for the public's copy. pool.tsv and strata.tsv may be given
    as paths: they are then read a block of lines at a time, however large."""
    passed: list[str] = []
    unchecked: list[str] = []
    try:
        _verify(bundle, pool_bytes, roster_bytes, conflicts_bytes, strata_bytes, passed, unchecked)
    except _Difference as difference:
        return VerifyResult(False, str(difference), tuple(passed), unchecked=tuple(unchecked))
    return VerifyResult(True, None, tuple(passed), unchecked=tuple(unchecked))


def verify_bundle_dir(path: str | Path) -> VerifyResult:
    """Verify the bundle folder at ``path`` (see the module docstring for its contents)."""
    try:
        bundle, pool_bytes, roster_bytes, conflicts_bytes, strata_bytes = _read_bundle_dir(
            Path(path)
        )
    except _Unreadable as exc:
        return VerifyResult(False, str(exc), (), readable=False)
    return verify_bundle(bundle, pool_bytes, roster_bytes, conflicts_bytes, strata_bytes)


def _verify(
    bundle: Any,
    pool_bytes: bytes | Path,
    roster_bytes: bytes,
    conflicts_bytes: bytes | None,
    strata_bytes: bytes | Path | None,
    passed: list[str],
    unchecked: list[str],
) -> None:
    _check_shape(bundle)
    params = bundle["params"]
    sealed = bundle["protocol"] == sr1.SEALED
    _check_digest("pool.tsv", pool_bytes, params, "pool_sha256")
    _check_digest("roster.tsv", roster_bytes, params, "roster_sha256")
    passed.append("pool.tsv and roster.tsv match their digests in params")
    if conflicts_bytes is None:
        conflicts = _published_conflicts(bundle["excluded_by_conflict"])
        passed.append(
            "conflicts.tsv not published: the pairing uses excluded_by_conflict, "
            "which cannot be checked against params.conflicts_sha256"
        )
    else:
        _check_digest("conflicts.tsv", conflicts_bytes, params, "conflicts_sha256")
        pairs = _protocol(lambda: sr1.parse_conflicts(conflicts_bytes))
        conflicts = sr1.conflicts_by_entity(pairs)
        passed.append("conflicts.tsv matches params.conflicts_sha256")
    roster = _protocol(lambda: sr1.parse_roster(roster_bytes))
    if sealed and strata_bytes is not None:
        _check_digest("strata.tsv", strata_bytes, params, "strata_sha256")
    elif strata_bytes is not None:
        raise _Difference("strata.tsv is given but the bundle's protocol is sr1")
    # Validated a block of lines at a time (with strata.tsv: every tag recomputed on the way).
    pool = _protocol(
        lambda: sr1.PoolFile(
            _opener(pool_bytes),
            None if strata_bytes is None else _opener(strata_bytes),
            sealed=sealed,
        )
    )
    strata = pool if pool.has_strata else None
    if strata is not None:
        passed.append("strata.tsv matches params.strata_sha256, and every tag in pool.tsv")
    _protocol(lambda: sr1.check_params(params, pool, strata))
    passed.append(f"params are valid for the pool of {len(pool)} entities")

    _compare("commitment", sr1.commitment(params), bundle["commitment"])
    passed.append("commitment is the hash of params")
    entropy = bundle["entropy"]
    _check_beacon(bundle, params, passed, unchecked)
    _compare("seed", _protocol(lambda: sr1.seed(bundle["commitment"], entropy)), bundle["seed"])
    passed.append(f"seed follows from the commitment and {len(entropy)} entropy string(s)")

    given = None
    if sealed and strata is None:
        given = [entry.get("uscc") for entry in _entries(bundle["selected"], "selected")]
    draw = _protocol(lambda: sr1.Draw(params, entropy, pool, roster, conflicts, None, given))
    _check_selected(draw.selected(), bundle["selected"], bundle["protocol"], passed)
    _check_events(draw, bundle["events"])
    passed.append(f"{len(bundle['events'])} event(s): outcomes and hash chain")
    _compare("excluded_by_conflict", draw.excluded_by_conflict(), bundle["excluded_by_conflict"])
    passed.append("excluded_by_conflict lists the conflicts of every entity ever selected")
    _compare("final", draw.final(), bundle["final"])
    passed.append(f"final: {len(bundle['final'])} entities and their teams")
    if draw.unchecked():
        unchecked += [
            *draw.unchecked(),
            f"(the auditor's strata.tsv must have SHA-256 {params['strata_sha256']})",
        ]


def _check_beacon(
    bundle: Any, params: dict[str, Any], passed: list[str], unchecked: list[str]
) -> None:
    """A beacon draw: the round served is the committed one, its randomness is SHA-256 of its
    signature and is the entropy; the BLS signature too when drand-verify is installed."""
    plan = sr1.parse_beacon_plan(params.get("entropy_plan") or "")
    if plan is None:
        if "beacon" in bundle:
            raise _Difference("bundle.json carries a beacon round but the plan names no beacon")
        return
    if not isinstance(bundle.get("beacon"), str):
        raise _Difference("the entropy plan commits to a beacon round but bundle.json has none")
    try:
        served = json.loads(bundle["beacon"])
    except ValueError:
        raise _Difference("beacon: the round as served is not JSON") from None
    expected = _protocol(lambda: sr1.check_beacon_round(plan, served))
    _compare("entropy", [expected], bundle["entropy"])
    passed.append(
        f"entropy is drand round {plan['round']} of chain {plan['chain'][:16]}…, "
        "its randomness the SHA-256 of its signature"
    )
    checked = _beacon_signature(plan, served)
    if checked is None:
        unchecked.append(
            "the beacon round's BLS signature (pip install drand-verify to check it too)"
        )
    elif not checked:
        raise _Difference(
            f"beacon: the signature of round {plan['round']} does not verify against the "
            "committed public key"
        )
    else:
        passed.append("the beacon round's BLS signature verifies against the committed key")


def _beacon_signature(plan: dict[str, Any], served: dict[str, Any]) -> bool | None:
    """True/False: the BLS signature verified or not; None: no library to check it with."""
    try:
        import drand_verify  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        if plan["scheme"] == "pedersen-bls-chained":
            drand_verify.verify_pedersen_bls_chained(
                plan["round"],
                served.get("previous_signature", ""),
                served["signature"],
                plan["public_key"],
            )
        elif plan["scheme"] == "bls-unchained-g1-rfc9380":
            drand_verify.verify_bls_unchained_g1_rfc9380(
                plan["round"], served["signature"], plan["public_key"]
            )
        else:
            return None
    except (ValueError, TypeError):
        return False
    return True


def _check_shape(bundle: Any) -> None:
    if not isinstance(bundle, dict):
        raise _Difference("bundle.json must hold a JSON object")
    for key in BUNDLE_KEYS:
        if key not in bundle:
            raise _Difference(f"bundle.json lacks the key {key!r}")
    for key in bundle:
        if key not in BUNDLE_KEYS and key not in OPTIONAL_KEYS and key not in INFORMATIVE_KEYS:
            raise _Difference(f"bundle.json has an unexpected key {key!r}")
    if bundle["protocol"] not in sr1.PROTOCOLS:
        raise _Difference(f'protocol: expected "sr1" or "sr2" found {_show(bundle["protocol"])}')
    if not isinstance(bundle["params"], dict):
        raise _Difference("params must be a JSON object")
    _compare("params.protocol", bundle["protocol"], bundle["params"].get("protocol"))


def _opener(data: bytes | Path) -> Callable[[], Any]:
    if isinstance(data, bytes):
        return lambda: io.BytesIO(data)
    return lambda: data.open("rb")


def _check_digest(file: str, data: bytes | Path, params: dict[str, Any], key: str) -> None:
    if isinstance(data, bytes):
        actual = sr1.digest_bytes(data)
    else:
        with data.open("rb") as stream:
            actual = sr1.stream_digest(stream)
    if actual != params.get(key):
        raise _Difference(
            f"{file} digest differs from params.{key}: "
            f"the file hashes to {actual}, params say {_show(params.get(key))}"
        )


def _published_conflicts(excluded: Any) -> dict[str, set[str]]:
    """The bundle's excluded_by_conflict as a conflicts mapping (the private-file case)."""
    if not isinstance(excluded, dict):
        raise _Difference("excluded_by_conflict must be an object {uscc: [inspector ids]}")
    for uscc, inspectors in excluded.items():
        if not (
            isinstance(inspectors, list)
            and inspectors
            and all(isinstance(i, str) for i in inspectors)
        ):
            raise _Difference(
                f"{_at('excluded_by_conflict', uscc)} must be a non-empty list of inspector ids"
            )
    return {uscc: set(inspectors) for uscc, inspectors in excluded.items()}


def _check_selected(
    expected: list[dict[str, Any]], found: Any, protocol: str, passed: list[str]
) -> None:
    """The selection (entities, strata, tickets) first, then the pairing, as §6 orders them."""
    entries = _entries(found, "selected")
    keys = SELECTION_KEYS[protocol]
    _compare(
        "selected",
        [{key: entry[key] for key in keys} for entry in expected],
        [{key: entry[key] for key in keys if key in entry} for entry in entries],
    )
    if protocol == sr1.SEALED:
        passed.append(f"selection: {len(expected)} entities, in pairing-order tickets (TP)")
    else:
        passed.append(f"selection: {len(expected)} entities and their tickets")
    _compare("selected", expected, entries)
    unassigned = sum(entry["unassigned"] for entry in expected)
    passed.append(f"pairing: {len(expected) - unassigned} teams, {unassigned} unassigned")


def _check_events(draw: sr1.Draw, found: Any) -> None:
    for n, event in enumerate(_entries(found, "events")):
        path = f"events[{n}]"
        record = {key: value for key, value in event.items() if key not in ("outcome", "chain")}
        given = (event.get("outcome") or {}).get("replacement_uscc")
        try:
            outcome = draw.apply_event(
                record, replacement=given if isinstance(given, str) else None
            )
        except sr1.Sr1Error as exc:
            raise _Difference(f"{path} cannot be applied: {exc}") from None
        published = {key: event[key] for key in ("outcome", "chain") if key in event}
        _compare(path, {"outcome": outcome, "chain": draw.chain}, published)


def _entries(found: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(found, list):
        raise _Difference(f"{path} must be a list, found {_show(found)}")
    for n, entry in enumerate(found):
        if not isinstance(entry, dict):
            raise _Difference(f"{path}[{n}] must be an object, found {_show(entry)}")
    return found


def _protocol(step: Callable[[], _T]) -> _T:
    """Run a protocol step; its Sr1Error is a difference, already saying where."""
    try:
        return step()
    except sr1.Sr1Error as exc:
        raise _Difference(str(exc)) from None


# --- Naming differences -----------------------------------------------------------------------


def _compare(path: str, expected: Any, found: Any) -> None:
    difference = _first_difference(path, expected, found)
    if difference is not None:
        raise _Difference(difference)


def _first_difference(path: str, expected: Any, found: Any) -> str | None:
    """The first place where ``found`` differs from ``expected``, in plain words.

    Lists of plain values (a team) are shown whole; types must match too (true is not 1).
    """
    if isinstance(expected, dict):
        if not isinstance(found, dict):
            return f"{path}: expected an object, found {_show(found)}"
        for key, value in expected.items():
            if key not in found:
                return f"{_at(path, key)}: missing (expected {_show(value)})"
            difference = _first_difference(_at(path, key), value, found[key])
            if difference is not None:
                return difference
        for key in found:
            if key not in expected:
                return f"{_at(path, key)}: unexpected (found {_show(found[key])})"
        return None
    if isinstance(expected, list) and any(isinstance(v, dict | list) for v in expected):
        if not isinstance(found, list):
            return f"{path}: expected a list, found {_show(found)}"
        for n, (want, got) in enumerate(zip(expected, found, strict=False)):
            difference = _first_difference(f"{path}[{n}]", want, got)
            if difference is not None:
                return difference
        if len(found) < len(expected):
            return f"{path}[{len(found)}]: missing (expected {_show(expected[len(found)])})"
        if len(found) > len(expected):
            return f"{path}[{len(expected)}]: unexpected (found {_show(found[len(expected)])})"
        return None
    if _same(expected, found):
        return None
    return f"{path}: expected {_show(expected)} found {_show(found)}"


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


def _show(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Reading the folder and the command line ---------------------------------------------------


def _read_bundle_dir(folder: Path) -> tuple[Any, Path, bytes, bytes | None, Path | None]:
    if not folder.is_dir():
        raise _Unreadable(f"{folder} is not a folder")
    try:
        text = (folder / "bundle.json").read_text(encoding="utf-8")
        bundle = json.loads(text, object_pairs_hook=_unique_keys)
        # pool.tsv and strata.tsv are read as they are checked (millions of lines): here
        # only whether they can be opened.
        pool_path = folder / "pool.tsv"
        pool_path.open("rb").close()
        roster_bytes = (folder / "roster.tsv").read_bytes()
        conflicts_path = folder / "conflicts.tsv"
        conflicts_bytes = conflicts_path.read_bytes() if conflicts_path.exists() else None
        strata_path: Path | None = folder / "strata.tsv"
        if strata_path.exists():
            strata_path.open("rb").close()
        else:
            strata_path = None
    except OSError as exc:
        raise _Unreadable(f"cannot read {exc.filename}: {exc.strerror}") from None
    except ValueError as exc:  # bad UTF-8 or bad JSON
        raise _Unreadable(f"bundle.json is not valid UTF-8 JSON: {exc}") from None
    return bundle, pool_path, roster_bytes, conflicts_bytes, strata_path


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys repeat would be read differently by different tools."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        repeated = sorted({key for key, _ in pairs if sum(k == key for k, _ in pairs) > 1})
        raise ValueError(f"the key {repeated[0]!r} appears twice in one object")
    return obj


def _verdict(result: VerifyResult, verbose: bool) -> str:
    if not result.readable:
        return f"无法读取结果包 / CANNOT READ the bundle: {result.first_difference}"
    lines = []
    if verbose:
        lines += [f"  ok  {check}" for check in result.details]
    if result.ok and result.unchecked:
        lines += [
            "核验通过（部分）：公众可核验的内容全部一致；以下内容须持有分层文件 strata.tsv 的"
            "审计方核验：",
            "VERIFIED AS FAR AS THE PUBLIC CAN: everything the public can recompute matches; "
            "an auditor holding strata.tsv must check:",
            *(f"  - {item}" for item in result.unchecked),
            "  各分层抽中哪些主体、撤出后由哪个备选递补 / which entities each quota took, "
            "which reserve replaced a withdrawn one",
        ]
    elif result.ok:
        lines += [
            "核验通过：重新计算的结果与公布的结果包完全一致。",
            "VERIFIED: an independent recomputation matches the bundle.",
        ]
    else:
        lines += [
            "核验未通过：发现不一致，第一处如下。",
            "NOT VERIFIED: the first difference found is:",
            f"  {result.first_difference}",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify.py", description="核验抽查结果包 / verify an sr1 or sr2 draw bundle"
    )
    parser.add_argument("bundle_dir", help="folder with bundle.json, pool.tsv, roster.tsv")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the checks passed")
    args = parser.parse_args(argv)
    result = verify_bundle_dir(args.bundle_dir)
    print(_verdict(result, args.verbose))
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
