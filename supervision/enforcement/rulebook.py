"""The versioned rulebook of consequences (data/rulebook/*.yaml): policy is data, this is the engine.

Two kinds of file. A *regime* file (2014.yaml, 2024.yaml, 2025.yaml) holds the national rules
in force from its `effective_from` until the next regime's: listing reasons with their legal
basis and working-day deadlines, which published result codes propose which reason, the serious
list's reasons, the credit measures and the escalation rule. A *local* file adds a
jurisdiction's own measures from its own date. The regime that applies is the one in force on
the date of the fact or decision (`regime_on`).

Everything is read and cross-checked at start-up (`load_rulebook`); a malformed file raises
`RulebookError` naming the file and the key, and nothing of it is used.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from supervision.registry.reference import (
    ReferenceDataError,
    load_result_codes,
    read_yaml_data,
    validate_yaml_data,
)

RULEBOOK_DIR = "rulebook"
ListKind = Literal["abnormal", "serious"]


class RulebookError(ReferenceDataError):
    """A rulebook file is missing, malformed or inconsistent; names the file and the key."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# Every rule cites its source: the law and article, and where the product's figure comes
# from. The loader refuses a rule without one.
def _source() -> Any:
    return Field(min_length=4)


class ToConfirm(_Spec):
    """A figure that could not be checked against the official text: kept, reported at
    start-up and on the staff pages until a legal officer confirms it (and removes the mark)."""

    key: str = Field(min_length=1)
    note: str = Field(min_length=4)


class AbnormalReason(_Spec):
    code: str
    label: str
    legal_basis: str = _source()
    list_within_working_days: int = Field(ge=0, le=60)
    remove_within_working_days: int = Field(ge=0, le=60)
    # Kinds of correction evidence a removal may name; at least one is needed.
    removal_evidence: tuple[str, ...] = Field(min_length=1)
    # The entity types the reason binds (instant information is an enterprise's duty; an
    # individual business has three reasons only: 《个体工商户年度报告暂行办法》).
    entity_types: tuple[Literal["enterprise", "individual", "cooperative"], ...] = Field(
        default=("enterprise", "individual", "cooperative"), min_length=1
    )
    # When the removal deadline starts: the application, or the day the correction was
    # verified (unreachable, false information: the authority checks the new address or the
    # corrected information first).
    removal_counts_from: Literal["application", "verification"] = "application"
    # A reason that needs a written order first (instant information, 68号 Art. 7: an order to
    # publish within `order_days`); the listing deadline runs from the end of the ordered period.
    order_days: int | None = Field(default=None, ge=1, le=60)
    order_basis: str | None = Field(default=None, min_length=4)


class ResultProposal(_Spec):
    result_code: str
    reason: str


class SeriousReason(_Spec):
    code: str
    label: str
    legal_basis: str = _source()
    years: int = Field(ge=1, le=10)  # automatic removal after this many years


class Measure(_Spec):
    code: str
    label: str
    legal_basis: str = _source()
    lists: tuple[ListKind, ...] = Field(min_length=1)
    binds: Literal["entity", "legal_rep"]
    # None: while the entity is listed; otherwise this many years from the listing decision.
    years: int | None = Field(default=None, ge=1, le=10)


class MoveToSerious(_Spec):
    after_years: int = Field(ge=1)
    reminder_days_before: int = Field(ge=0)
    serious_reason: str
    legal_basis: str = _source()
    # Who decides the move: the listing authority itself ("local"); the provincial authority
    # ("provincial", 83号: in a single bureau an administrator acting for it, on record); or
    # the listing authority with the prior approval of the level above ("local_with_approval",
    # 44号 for county- and city-level listings).
    decided_by: Literal["local", "provincial", "local_with_approval"] = "local"
    # Working days after the move's due day within which it is decided (83号: 10), if any.
    decide_within_working_days: int | None = Field(default=None, ge=1, le=60)


class RevocationCandidate(_Spec):
    """2024 条例 Art. 18: listed for missed annual reports, not corrected for N years running,
    *and* found unreachable (verified separately: a listing for that reason) → a proposal to
    revoke the licence. Enterprises only."""

    consecutive_missed_reports: int = Field(ge=1, le=5)
    requires_listed: bool = True
    requires_reason: str  # the listing that must still stand (annual_report)
    # A second listing that must stand too: the separate verification (unreachable).
    also_listed_for: str | None = None
    entity_types: tuple[Literal["enterprise", "individual", "cooperative"], ...] = Field(
        default=("enterprise",), min_length=1
    )
    legal_basis: str = _source()


EntityTypeCode = Literal["enterprise", "individual", "cooperative"]


class TradingRule(_Spec):
    """Not opened within, or self-suspended for, `months` → zombie candidate (公司法 Art. 260)."""

    months: int = Field(ge=1, le=60)
    entity_types: tuple[EntityTypeCode, ...] = Field(min_length=1)
    legal_basis: str = _source()


class ZombieRule(_Spec):
    consecutive_missed_reports: int = Field(ge=1, le=5)
    legal_basis: str = _source()
    # 工商企监字〔2016〕97号: no annual report *and* no tax return. When true, an entity whose
    # imported tax filings show a return in one of the years is not a candidate; without
    # tax data for it the reports decide alone.
    check_tax_returns: bool = False
    not_opened: TradingRule | None = None
    ceased_trading: TradingRule | None = None


class NoticeChange(_Spec):
    """From a day on, a public notice of another length, on another basis."""

    since: date
    notice_days: int = Field(ge=1)
    legal_basis: str = _source()


class ObjectionRule(_Spec):
    """An objection to a listing (异议): filed within `within_days` calendar days of the
    listing's publication; the authority decides whether to accept it (受理) within
    `accept_within_working_days` and verifies it (核实) within `verify_within_working_days`
    of accepting it."""

    within_days: int = Field(ge=1, le=365)
    accept_within_working_days: int = Field(ge=1, le=60)
    verify_within_working_days: int = Field(ge=1, le=120)
    legal_basis: str = _source()


class DeregistrationRule(_Spec):
    revoked_years: int = Field(ge=1, le=10)
    notice_days: int = Field(ge=1)
    legal_basis: str = _source()
    # Whom the rule binds (公司法 Art. 241 binds companies).
    entity_types: tuple[EntityTypeCode, ...] = Field(default=("enterprise",), min_length=1)
    # Companies only: the registry keeps the entity type, not the legal form, but a company's
    # name must carry its form (《公司法》 Art. 7) and no other enterprise may use it; an
    # enterprise whose name carries none of these (a partnership, a sole proprietorship, a
    # non-company enterprise) is not a candidate. Empty: every entity of `entity_types`.
    name_marks: tuple[str, ...] = ()
    name_marks_basis: str | None = Field(default=None, min_length=4)
    # A later measure changing the notice within the regime (by `since`, ascending).
    notice_changes: tuple[NoticeChange, ...] = ()

    def notice_on(self, day: date) -> tuple[int, str]:
        """The notice's length in days, and its basis, for a candidate found on `day`."""
        days, basis = self.notice_days, self.legal_basis
        for change in sorted(self.notice_changes, key=lambda c: c.since):
            if change.since <= day:
                days, basis = change.notice_days, f"{self.legal_basis}；{change.legal_basis}"
        return days, basis


# In a risk-feedback rule's `results`: every "problem found" code of data/result_codes.yaml
# (the categories the problem rate counts, with their sub-codes), expanded when loaded.
PROBLEM_RESULTS = "problem"


class RiskFeedback(_Spec):
    """Entities matching this rule are drawn in the stratum of its risk class.

    A rule matches an entity that is on one of `lists` now, or (either condition suffices) that
    has a published result with one of the `results` codes whose check was completed within the
    `within_months` before the batch's first day. `results` may name `problem` for every
    problem-found code; `load_rulebook` expands it and refuses codes not in result_codes.yaml.
    """

    lists: tuple[ListKind, ...] = ()
    results: tuple[str, ...] = ()
    within_months: int | None = Field(default=None, ge=1, le=120)
    risk_class: Literal["A", "B", "C", "D"]

    @model_validator(mode="after")
    def _shape(self) -> RiskFeedback:
        if not self.lists and not self.results:
            raise ValueError("a risk_feedback rule needs lists or results (or both)")
        if self.results and self.within_months is None:
            raise ValueError("a results rule needs within_months (1..120)")
        if self.within_months is not None and not self.results:
            raise ValueError("within_months applies to results only")
        return self


class Escalation(_Spec):
    move_to_serious: MoveToSerious | None = None
    revocation_candidate: RevocationCandidate | None = None


class RegimeFile(_Spec):
    rulebook: str
    kind: Literal["regime"]
    effective_from: date
    source: str = _source()
    authority_default: str
    # The authorities a rule may name as deciding or approving instead (data: the province's
    # and the prefecture's market-regulation bureaux).
    provincial_authority: str = ""
    level_above_authority: str = ""
    individual_businesses: Literal["mark", "list"]
    abnormal_reasons: tuple[AbnormalReason, ...] = Field(min_length=1)
    result_proposals: tuple[ResultProposal, ...] = ()
    serious_reasons: tuple[SeriousReason, ...] = ()
    serious_early_removal_after_years: int | None = Field(default=None, ge=0, le=10)
    # Working days, from the application, to decide an early removal (信用修复); required when
    # early removal exists, meaningless otherwise.
    serious_removal_decide_within_working_days: int | None = Field(default=None, ge=1, le=60)
    serious_removal_evidence: tuple[str, ...] = ()
    measures: tuple[Measure, ...] = ()
    escalation: Escalation = Escalation()
    zombie: ZombieRule | None = None
    risk_feedback: tuple[RiskFeedback, ...] = ()
    compulsory_deregistration: DeregistrationRule | None = None
    objection: ObjectionRule
    to_confirm: tuple[ToConfirm, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> RegimeFile:
        reasons = {r.code for r in self.abnormal_reasons}
        for p in self.result_proposals:
            if p.reason not in reasons:
                raise ValueError(f"result_proposals: unknown reason {p.reason!r}")
        mv = self.escalation.move_to_serious
        if mv and mv.serious_reason not in {r.code for r in self.serious_reasons}:
            raise ValueError(f"escalation: unknown serious reason {mv.serious_reason!r}")
        if mv and mv.decided_by == "provincial" and not self.provincial_authority:
            raise ValueError("escalation: decided_by provincial needs provincial_authority")
        if mv and mv.decided_by == "local_with_approval" and not self.level_above_authority:
            raise ValueError("escalation: local_with_approval needs level_above_authority")
        rc = self.escalation.revocation_candidate
        for code in (rc.requires_reason, rc.also_listed_for) if rc else ():
            if code is not None and code not in reasons:
                raise ValueError(f"escalation: unknown reason {code!r}")
        return self

    def reason(self, code: str) -> AbnormalReason | None:
        return next((r for r in self.abnormal_reasons if r.code == code), None)

    def serious_reason(self, code: str) -> SeriousReason | None:
        return next((r for r in self.serious_reasons if r.code == code), None)

    def reason_for_result(self, result_code: str) -> str | None:
        return next((p.reason for p in self.result_proposals if p.result_code == result_code), None)


class LocalFile(_Spec):
    rulebook: str
    kind: Literal["local"]
    effective_from: date
    effective_until: date | None = None
    source: str = _source()
    region_code: str
    measures: tuple[Measure, ...] = Field(min_length=1)
    to_confirm: tuple[ToConfirm, ...] = ()


@dataclass(frozen=True)
class MeasureInForce:
    measure: Measure
    rulebook: str  # the file it comes from


@dataclass(frozen=True)
class Rulebook:
    regimes: tuple[RegimeFile, ...]  # by effective_from
    locals: tuple[LocalFile, ...]

    def regime_on(self, day: date) -> RegimeFile:
        """The regime in force on a day (the date of the fact or of the decision)."""
        current = [r for r in self.regimes if r.effective_from <= day]
        if not current:
            from supervision.errors import Conflict

            first = self.regimes[0].effective_from
            raise Conflict(
                f"{day} 早于规则库最早的制度（{first} 起施行），无规则可用",
                f"no rulebook regime is in force on {day} (the first starts {first})",
            )
        return current[-1]

    def regime(self, name: str) -> RegimeFile:
        return next(r for r in self.regimes if r.rulebook == name)

    def measures_on(self, day: date) -> dict[str, MeasureInForce]:
        """Every credit measure in force on a day: the regime's, then the local files'."""
        out: dict[str, MeasureInForce] = {}
        try:
            regime = self.regime_on(day)
            out.update({m.code: MeasureInForce(m, regime.rulebook) for m in regime.measures})
        except Exception:  # before the first regime: local measures only
            pass
        for local in self.locals:
            if local.effective_from <= day and (
                local.effective_until is None or day <= local.effective_until
            ):
                out.update({m.code: MeasureInForce(m, local.rulebook) for m in local.measures})
        return out

    def all_measure_codes(self) -> set[str]:
        return {m.code for f in (*self.regimes, *self.locals) for m in f.measures}

    def to_confirm(self) -> list[tuple[str, str, str]]:
        """(rulebook, key, note) of every figure still marked "to confirm"."""
        return [
            (f.rulebook, item.key, item.note)
            for f in (*self.regimes, *self.locals)
            for item in f.to_confirm
        ]


def _check_regime(name: str, regime: RegimeFile, result_codes: set[str]) -> None:
    for n, p in enumerate(regime.result_proposals):
        if p.result_code not in result_codes:
            raise RulebookError(
                name,
                f"result_proposals[{n}].result_code ({p.result_code})",
                "结果代码不在 result_codes.yaml 中",
                "not a result code of data/result_codes.yaml",
            )
    for what, codes in (
        ("abnormal_reasons", [r.code for r in regime.abnormal_reasons]),
        ("serious_reasons", [r.code for r in regime.serious_reasons]),
        ("measures", [m.code for m in regime.measures]),
    ):
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise RulebookError(name, f"{what} ({dupes[0]})", "代码重复", "duplicate code")


def _check_serious_removal(name: str, regime: RegimeFile) -> None:
    early = regime.serious_early_removal_after_years is not None
    decide = regime.serious_removal_decide_within_working_days is not None
    if early and not decide:
        raise RulebookError(
            name,
            "serious_removal_decide_within_working_days",
            "允许提前移出严重违法失信名单时，须规定作出移出决定的工作日期限",
            "required when serious_early_removal_after_years is set",
        )
    if decide and not early:
        raise RulebookError(
            name,
            "serious_removal_decide_within_working_days",
            "该制度不允许提前移出（serious_early_removal_after_years 为空），不应规定决定期限",
            "must be null when serious_early_removal_after_years is null",
        )


def _resolve_risk_feedback(
    name: str, regime: RegimeFile, result_codes: set[str], problem: tuple[str, ...]
) -> RegimeFile:
    """Refuse unknown result codes of the risk-feedback rules; expand `problem`."""
    rules: list[RiskFeedback] = []
    for n, rule in enumerate(regime.risk_feedback):
        codes: list[str] = []
        for code in rule.results:
            if code == PROBLEM_RESULTS:
                codes.extend(problem)
            elif code in result_codes:
                codes.append(code)
            else:
                raise RulebookError(
                    name,
                    f"risk_feedback[{n}].results ({code})",
                    f"结果代码不在 result_codes.yaml 中（或使用 {PROBLEM_RESULTS} 表示全部发现问题的结果）",
                    f"not a result code of data/result_codes.yaml (nor {PROBLEM_RESULTS!r})",
                )
        rules.append(rule.model_copy(update={"results": tuple(dict.fromkeys(codes))}))
    return regime.model_copy(update={"risk_feedback": tuple(rules)})


def load_rulebook(data_dir: Path) -> Rulebook:
    """Read and cross-check every file of data/rulebook/; raise RulebookError on the first problem.

    Call it at start-up (app factory, CLI): the service refuses to start on a bad rulebook
    rather than apply part of it.
    """
    folder = data_dir / RULEBOOK_DIR
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        raise RulebookError(RULEBOOK_DIR, "(folder)", "规则库为空", "no rulebook files")
    code_versions = load_result_codes(data_dir).versions
    codes = {c for v in code_versions for c in v.all_codes()}
    problem = tuple(
        dict.fromkeys(
            c.code for v in code_versions for c in v.walk() if c.code in v.problem_codes()
        )
    )
    regimes: list[RegimeFile] = []
    locals_: list[LocalFile] = []
    try:
        raw = {
            f"{RULEBOOK_DIR}/{p.name}": read_yaml_data(p, f"{RULEBOOK_DIR}/{p.name}") for p in files
        }
    except ReferenceDataError as exc:
        raise RulebookError(exc.file, exc.key, exc.reason_zh, exc.reason_en) from None
    for name, data in raw.items():
        try:
            head = validate_yaml_data(data, _Head, name)
            model = RegimeFile if head.kind == "regime" else LocalFile
            if head.kind == "regime" and isinstance(data, dict) and "extends" in data:
                data = _extended(name, data, raw)
            doc = validate_yaml_data(data, model, name)
        except ReferenceDataError as exc:
            raise RulebookError(exc.file, exc.key, exc.reason_zh, exc.reason_en) from None
        if isinstance(doc, RegimeFile):
            _check_regime(name, doc, codes)
            _check_serious_removal(name, doc)
            regimes.append(_resolve_risk_feedback(name, doc, codes, problem))
        else:
            locals_.append(doc)
    regimes.sort(key=lambda r: r.effective_from)
    for what, docs in (("rulebook", [*regimes, *locals_]),):
        names = [d.rulebook for d in docs]
        dupes = [n for n in names if names.count(n) > 1]
        if dupes:
            raise RulebookError(RULEBOOK_DIR, f"{what} ({dupes[0]})", "名称重复", "duplicate name")
    dates = [r.effective_from for r in regimes]
    if len(set(dates)) != len(dates):
        raise RulebookError(
            RULEBOOK_DIR, "effective_from", "两个制度施行日期相同", "two regimes share a date"
        )
    if not regimes:
        raise RulebookError(RULEBOOK_DIR, "kind", "至少需要一个 regime 文件", "no regime file")
    return Rulebook(tuple(regimes), tuple(locals_))


def _extended(name: str, data: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """A regime written as changes to another (`extends: "2014"`): the other file's top-level
    keys, each replaced whole by this file's own. One level only, so a reader of the file
    sees every difference from the regime it names."""
    base_name = data["extends"]
    bases = [
        d
        for d in raw.values()
        if isinstance(d, dict)
        and d.get("kind") == "regime"
        and str(d.get("rulebook")) == str(base_name)
    ]
    if len(bases) != 1:
        raise RulebookError(
            name,
            "extends",
            f"找不到被继承的制度“{base_name}”",
            f"no regime {base_name!r} to extend",
        )
    if "extends" in bases[0]:
        raise RulebookError(
            name,
            "extends",
            "被继承的制度本身不能再继承其他制度",
            "an extended regime cannot extend another",
        )
    merged = {**bases[0], **{k: v for k, v in data.items() if k != "extends"}}
    # What was to confirm in the base stays to confirm only where this file did not restate it.
    if "to_confirm" not in data:
        merged["to_confirm"] = [
            c for c in bases[0].get("to_confirm") or [] if c.get("key") not in data
        ]
    return merged


class _Head(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: Literal["regime", "local"]


@functools.lru_cache(maxsize=4)
def _cached(data_dir: Path, stamp: tuple[tuple[str, float], ...]) -> Rulebook:
    return load_rulebook(data_dir)


# How often the folder is looked at for changed files: a lookup-heavy server asks for the
# rulebook on every request, and listing the folder costs more than the lookup itself.
RECHECK_SECONDS = 1.0
_last_seen: dict[Path, tuple[float, Rulebook]] = {}


def rulebook(data_dir: Path | None = None) -> Rulebook:
    """The rulebook of the data folder (re-read, at most a second late, when a file changes)."""
    if data_dir is None:
        from supervision.settings import get_settings

        data_dir = get_settings().data_dir
    now = time.monotonic()
    seen = _last_seen.get(data_dir)
    if seen is not None and now - seen[0] < RECHECK_SECONDS:
        return seen[1]
    folder = data_dir / RULEBOOK_DIR
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    book = _cached(data_dir, tuple((p.name, p.stat().st_mtime) for p in files))
    _last_seen[data_dir] = (now, book)
    return book
