"""A seeded, reproducible generator of a 昌吉市-like registry.

It writes the files a registration office would export (UTF-8 with BOM, CRLF, the Chinese
headers of `registry.columns`), and `build_demo_city` loads them through the real importer, so
the demo exercises the same path as production data. Proportions, word lists and streets are
data (`data/demo/city.yaml`); the same seed and day give byte-identical files.

Credit codes are valid and unique: the organisation code part comes from a counter put through
a keyed Feistel permutation, so codes look random yet never collide.

Run `python -m supervision.demo.generator OUTDIR --entities 1000000` to write the files alone
(for benchmarks).
"""

import argparse
import csv
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from itertools import accumulate, product
from operator import mul
from pathlib import Path
from random import Random
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlmodel import Session, select

from supervision.clock import Clock
from supervision.registry.columns import (
    BOOLEAN_VALUES,
    ENTITY_COLUMNS,
    ENTITY_STATUS_VALUES,
    ENTITY_TYPE_VALUES,
    INSPECTOR_COLUMNS,
)
from supervision.registry.models import (
    AnnualReport,
    ConflictDeclaration,
    Entity,
    EntityStatus,
    EntityType,
    Inspector,
    RiskClass,
)
from supervision.registry.reference import (
    ReferenceData,
    ReferenceDataError,
    load_reference_data,
    read_reference,
    read_yaml_model,
)
from supervision.registry.schemas import ConflictCreate
from supervision.registry.service import declare_conflict
from supervision.registry.uscc import ALPHABET, make_uscc
from supervision.settings import PROJECT_ROOT

DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
CITY_FILE = "demo/city.yaml"
DEMO_ACTOR = "demo"
ENTITIES_FILE = "entities.csv"
INSPECTORS_FILE = "inspectors.csv"

# GB 32100: registration department 9 (market regulation), organisation type by entity type.
_ORG_TYPE = {EntityType.enterprise: "1", EntityType.individual: "2", EntityType.cooperative: "3"}
# GB 11643 resident identity number check.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


# --- the city's parameters -------------------------------------------------------------------

Weight = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Range = tuple[int, int]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Established(_Config):
    first_year: int
    yearly_growth: Annotated[float, Field(gt=0)]
    uscc_from: date


class AnnualReports(_Config):
    first_year: int
    due_month: int
    due_day: int
    missing_trailing_years: dict[int, Weight]
    revoked_min_missing: int


class Trading(_Config):
    opened_after_days: Range
    never_opened_share: Share
    ceased_share: Share
    ceased_days_ago: Range
    revoked_after_days: Annotated[int, Field(ge=0)]


class Authority(_Config):
    name: str
    region: str
    name_prefix: str
    weight: Weight


class Township(_Config):
    weight: Weight
    places: tuple[str, ...] = Field(min_length=1)
    rural: bool = False


class IndustryWords(_Config):
    weights: dict[EntityType, Weight]
    enterprise: tuple[str, ...] = ()
    individual: tuple[str, ...] = ()
    cooperative: tuple[str, ...] = ()


class NamesBySex(_Config):
    male: tuple[str, ...] = Field(min_length=1)
    female: tuple[str, ...] = Field(min_length=1)


class InspectorDepartment(_Config):
    weight: Weight
    units: dict[str, Weight]
    qualifications: dict[str, Share]


class Inspectors(_Config):
    departments: dict[str, InspectorDepartment]
    expert_share: Share
    inactive_share: Share
    cert_valid_days: Range
    lapsed_share: Share


class Conflicts(_Config):
    count: int
    reasons: dict[EntityType, tuple[str, ...]]
    declared_days_ago: Range
    ended_share: Share
    ended_after_days: Range


class DemoCity(_Config):
    version: str
    county: str
    entity_types: dict[EntityType, Weight]
    risk_classes: dict[RiskClass, Weight]
    statuses: dict[EntityStatus, Weight]
    revoked_min_age_years: int
    trading: Trading
    established: Established
    annual_reports: AnnualReports
    business_address: dict[Literal["same", "moved", "none"], Weight]
    registration_authorities: tuple[Authority, ...] = Field(min_length=1)
    address_prefix: str
    townships: dict[str, Township]
    industries: dict[str, IndustryWords]
    trade_name_chars: tuple[str, ...] = Field(min_length=1)
    enterprise_suffixes: dict[str, Weight]
    individual_name_patterns: dict[str, Weight]
    cooperative_suffix: str
    surnames: dict[str, Weight]
    given_name_chars: NamesBySex
    two_char_given_share: Share
    male_share: Share
    minority_share: Share
    minority_names: NamesBySex
    id_regions: dict[str, Weight]
    founder_age: Range
    mobile_prefixes: tuple[str, ...] = Field(min_length=1)
    inspectors: Inspectors
    conflicts: Conflicts


def load_city(data_dir: Path = DEFAULT_DATA_DIR) -> tuple[DemoCity, ReferenceData]:
    """The demo parameters, checked against the reference data they name."""
    ref = read_reference(data_dir)
    city = read_yaml_model(data_dir / CITY_FILE, DemoCity, name=CITY_FILE)

    def fail(key: str, zh: str, en: str) -> None:
        raise ReferenceDataError(CITY_FILE, key, zh, en)

    regions = {r.code for r in ref.regions}
    stations = ref.station_of_township()
    divisions = {i.code for i in ref.industries if i.level == "division"}
    if city.county not in regions:
        fail("county", "区划代码不存在", "unknown region")
    for n, authority in enumerate(city.registration_authorities):
        if authority.region not in regions:
            fail(f"registration_authorities[{n}].region", "区划代码不存在", "unknown region")
    for code in city.townships:
        if code not in stations:
            fail(f"townships.{code}", "没有市场监管所管辖该乡镇", "no station covers it")
    for code, words in city.industries.items():
        if code not in divisions:
            fail(f"industries.{code}", "不是GB/T 4754大类", "not a GB/T 4754 division")
        for kind, weight in words.weights.items():
            if weight > 0 and not getattr(words, kind.value):
                fail(f"industries.{code}.{kind.value}", "有权重却无名称用词", "no name words")
    for kind, weight in city.entity_types.items():
        if weight > 0 and not any(w.weights.get(kind, 0) > 0 for w in city.industries.values()):
            fail(f"entity_types.{kind.value}", "没有可用行业", "no industry weighted for it")
        if weight > 0 and not city.conflicts.reasons.get(kind):
            fail(f"conflicts.reasons.{kind.value}", "缺少回避事由", "no reasons")
    if city.entity_types.get(EntityType.cooperative, 0) > 0 and not any(
        t.rural for t in city.townships.values()
    ):
        fail("townships", "合作社需要农村乡镇", "cooperatives need a rural township")
    departments = {d.code: d for d in ref.departments}
    for code, spec in city.inspectors.departments.items():
        key = f"inspectors.departments.{code}"
        if code not in departments:
            fail(key, "部门不存在", "unknown department")
        own_units = {u.code for u in departments[code].units}
        for unit in spec.units:
            if unit not in own_units:
                fail(f"{key}.units.{unit}", "不是该部门的单位", "not a unit of the department")
        for qual in spec.qualifications:
            if qual not in ref.qualifications:
                fail(f"{key}.qualifications.{qual}", "资格代码不存在", "unknown qualification")
    return city, ref


# --- drawing helpers -------------------------------------------------------------------------

K = TypeVar("K")


def _picker(weights: Mapping[K, float]) -> Callable[[float], K]:
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


def _one_of(options: Sequence[K], u: float) -> K:
    """Uniform choice from one draw u in [0, 1) (cheaper than Random.choice on the hot path)."""
    return options[int(u * len(options))]


def _apportion(weights: Mapping[K, float], total: int) -> dict[K, int]:
    """Split `total` in proportion to weights (largest remainder), deterministically."""
    s = sum(weights.values())
    exact = {k: total * w / s for k, w in weights.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: counts[k] - exact[k])[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


class _CodeSequence:
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


class _People:
    """Names, identity numbers and mobile numbers of people in the city."""

    def __init__(self, city: DemoCity) -> None:
        self.surname = _picker(city.surnames)
        self.chars = city.given_name_chars
        self.minority = city.minority_names
        self.city = city
        # GB 11643 check: Σ digit × weight over the address, birth date and sequence parts,
        # each part's sum computed once.
        self.id_region = _picker(
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
                _one_of(self.minority.male if male else self.minority.female, random()),
                None,
                male,
            )
        chars = self.chars.male if male else self.chars.female
        surname = self.surname(random())
        given = _one_of(chars, random())
        if random() < self.city.two_char_given_share:
            given += _one_of(chars, random())
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
        return f"{_one_of(self.mobile_prefixes, rng.random())}{int(rng.random() * 1e8):08d}"


def export_headers(columns: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The first Chinese header of each field, as a registration office's export has them."""
    return [next(h for h in headers if not h.isascii()) for headers in columns.values()]


def _export_labels(values: Mapping[str, object]) -> dict[object, str]:
    """Canonical value → the first (Chinese) spelling the importer accepts for it."""
    labels: dict[object, str] = {}
    for label, value in values.items():
        if not label.isascii():
            labels.setdefault(value, label)
    return labels


def _last_due_year(city: DemoCity, today: date) -> int:
    """The latest reporting year whose annual report deadline has passed."""
    ar = city.annual_reports
    return today.year - (1 if (today.month, today.day) > (ar.due_month, ar.due_day) else 2)


# --- entities --------------------------------------------------------------------------------


def _entity_rows(
    city: DemoCity, ref: ReferenceData, *, entities: int, seed: int, today: date
) -> Iterator[list[str]]:
    rng = Random(f"{seed}/entities")
    new_codes = _CodeSequence(Random(f"{seed}/codes/new"), ALPHABET, 3, prefix="MA")
    legacy_codes = _CodeSequence(Random(f"{seed}/codes/legacy"), "0123456789", 4)
    people = _People(city)
    type_labels = _export_labels(ENTITY_TYPE_VALUES)
    status_labels = _export_labels(ENTITY_STATUS_VALUES)
    region_names = {r.code: r.name for r in ref.regions}
    stations = ref.station_of_township()

    pick_type = _picker(city.entity_types)
    pick_risk = _picker(city.risk_classes)
    pick_status = _picker(city.statuses)
    pick_missing = _picker(city.annual_reports.missing_trailing_years)
    pick_address = _picker(city.business_address)
    pick_suffix = _picker(city.enterprise_suffixes)
    pick_pattern = _picker(city.individual_name_patterns)
    authorities = city.registration_authorities
    pick_authority = _picker({n: a.weight for n, a in enumerate(authorities)})
    local = authorities[0]
    pick_industry = {
        kind: _picker({code: w.weights.get(kind, 0) for code, w in city.industries.items()})
        for kind in EntityType
        if city.entity_types.get(kind, 0) > 0
    }
    words = {
        (code, kind): getattr(w, kind.value)
        for code, w in city.industries.items()
        for kind in EntityType
    }
    pick_township = {
        kind: _picker(
            {
                code: t.weight
                for code, t in city.townships.items()
                if t.rural or kind != EntityType.cooperative
            }
        )
        for kind in pick_industry
    }
    places = {code: t.places for code, t in city.townships.items()}

    # Establishment: yearly weights grow geometrically; this year counts up to today.
    first_year = city.established.first_year
    year_start = {y: date(y, 1, 1).toordinal() for y in range(first_year, today.year + 1)}
    year_days = {
        y: min(date(y, 12, 31), today).toordinal() - start + 1 for y, start in year_start.items()
    }
    year_weight = {
        y: city.established.yearly_growth ** (y - first_year) * year_days[y] / 365
        for y in year_start
    }
    pick_year = _picker(year_weight)
    oldest_revoked = today.year - city.revoked_min_age_years
    pick_revoked_year = _picker({y: w for y, w in year_weight.items() if y <= oldest_revoked})
    uscc_from = city.established.uscc_from.toordinal()

    first_report = city.annual_reports.first_year
    last_due = _last_due_year(city, today)
    min_missing_revoked = city.annual_reports.revoked_min_missing
    report_years: dict[tuple[int, int], str] = {}
    age_lo, age_hi = (a * 365.25 for a in city.founder_age)

    random = rng.random
    trade_chars = city.trade_name_chars
    # Trading dates come from their own stream: the other columns stay as they were.
    trading = _trading_dates(city.trading, Random(f"{seed}/trading"), today)

    def street_address(township: str) -> str:
        place = _one_of(places[township], random())
        return f"{city.address_prefix}{place}{int(random() * 600) + 1}号"

    for _ in range(entities):
        kind = pick_type(random())
        status = pick_status(random())
        year = (pick_revoked_year if status == EntityStatus.revoked else pick_year)(random())
        established = year_start[year] + int(random() * year_days[year])

        authority = (
            authorities[pick_authority(random())] if kind == EntityType.enterprise else local
        )
        org_code = (
            legacy_codes.take()
            if kind != EntityType.individual and established < uscc_from
            else new_codes.take()
        )
        uscc = make_uscc("9", _ORG_TYPE[kind], authority.region, org_code)

        rep, surname, male = people.person(rng)
        born = established - int(age_lo + random() * (age_hi - age_lo))

        industry = pick_industry[kind](random())
        word = _one_of(words[industry, kind], random())
        trade = _one_of(trade_chars, random()) + _one_of(trade_chars, random())
        township = pick_township[kind](random())
        if kind == EntityType.enterprise:
            name = f"{authority.name_prefix}{trade}{word}{pick_suffix(random())}"
        elif kind == EntityType.individual:
            pattern = pick_pattern(random()) if surname else "{trade}"
            name = local.name_prefix + pattern.format(trade=trade, surname=surname) + word
        else:
            name = (
                f"{local.name_prefix}{region_names[township]}{trade}{word}{city.cooperative_suffix}"
            )

        address = street_address(township)
        where = pick_address(random())
        if where == "same":
            business_address = address
        elif where == "moved":
            business_address = street_address(township)
        else:
            business_address = ""

        missing = pick_missing(random())
        if status == EntityStatus.revoked:
            missing = max(missing, min_missing_revoked)
        span = (max(first_report, year), last_due - missing)
        years = report_years.get(span)
        if years is None:
            years = report_years[span] = ",".join(str(y) for y in range(span[0], span[1] + 1))

        yield [
            uscc,
            name,
            type_labels[kind],
            rep,
            people.id_number(rng, born, male),
            people.mobile(rng),
            address,
            business_address,
            township,
            industry,
            authority.name,
            stations[township],
            date.fromordinal(established).isoformat(),
            status_labels[status],
            *trading(established, status),
            pick_risk(random()).value,
            years,
        ]


def _trading_dates(
    spec: Trading, rng: Random, today: date
) -> Callable[[int, EntityStatus], tuple[str, str, str]]:
    """(开业日期, 自行停业日期, 吊销日期) of an entity established on an ordinal day."""
    random, randint = rng.random, rng.randint
    last = today.toordinal()

    def dates(established: int, status: EntityStatus) -> tuple[str, str, str]:
        opened = ceased = revoked = ""
        never_opened = random() < spec.never_opened_share
        opened_day = established + randint(*spec.opened_after_days)
        if not never_opened and opened_day <= last:
            opened = date.fromordinal(opened_day).isoformat()
            ceased_day = last - randint(*spec.ceased_days_ago)
            if random() < spec.ceased_share and status == EntityStatus.active:
                if ceased_day >= opened_day:
                    ceased = date.fromordinal(ceased_day).isoformat()
        if status == EntityStatus.revoked:
            first = min(established + spec.revoked_after_days, last)
            revoked = date.fromordinal(randint(first, last)).isoformat()
        return opened, ceased, revoked

    return dates


def _write_csv(path: Path, header: list[str], rows: Iterator[list[str]]) -> None:
    """UTF-8 with BOM and CRLF line ends, as Excel-style exports are."""
    with path.open("w", encoding="utf-8-sig", newline="", buffering=1 << 20) as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_entities_csv(
    path: Path, *, entities: int, seed: int, today: date, data_dir: Path = DEFAULT_DATA_DIR
) -> None:
    """Write a registration office's export of `entities` market entities (streamed)."""
    city, ref = load_city(data_dir)
    rows = _entity_rows(city, ref, entities=entities, seed=seed, today=today)
    _write_csv(path, export_headers(ENTITY_COLUMNS), rows)


# --- inspectors ------------------------------------------------------------------------------


def _inspector_rows(
    city: DemoCity, ref: ReferenceData, *, inspectors: int, seed: int, today: date
) -> Iterator[list[str]]:
    rng = Random(f"{seed}/inspectors")
    people = _People(city)
    yes, no = (_export_labels(BOOLEAN_VALUES)[v] for v in (True, False))
    spec = city.inspectors
    per_department = _apportion({d: s.weight for d, s in spec.departments.items()}, inspectors)
    lapse_lo, lapse_hi = 1, spec.cert_valid_days[0]
    for department in ref.departments:
        if department.code not in spec.departments:
            continue
        dept = spec.departments[department.code]
        pick_qualification = _picker(dept.qualifications)
        seq = 0
        for unit, count in _apportion(dept.units, per_department[department.code]).items():
            for _ in range(count):
                seq += 1
                name, _, _ = people.person(rng)
                held = {q for q, p in dept.qualifications.items() if rng.random() < p}
                held = held or {pick_qualification(rng.random())}
                expert = rng.random() < spec.expert_share
                active = rng.random() >= spec.inactive_share
                if rng.random() < spec.lapsed_share:
                    valid_until = today - timedelta(days=rng.randint(lapse_lo, lapse_hi))
                else:
                    valid_until = today + timedelta(days=rng.randint(*spec.cert_valid_days))
                yield [
                    f"{city.county}{department.badge_prefix}{seq:03d}",
                    name,
                    department.code,
                    unit,
                    ",".join(sorted(held)),
                    yes if active else no,
                    yes if expert else no,
                    valid_until.isoformat(),
                    people.mobile(rng),
                ]


def write_inspectors_csv(
    path: Path,
    *,
    inspectors: int = 110,
    seed: int,
    today: date | None = None,
    data_dir: Path = DEFAULT_DATA_DIR,
) -> None:
    """Write the law-enforcement staff directory: badge numbers, units, qualifications.

    Certificate validity is counted from `today` (default: the system date); the same seed and
    day give the same bytes.
    """
    city, ref = load_city(data_dir)
    rows = _inspector_rows(city, ref, inspectors=inspectors, seed=seed, today=today or date.today())
    _write_csv(path, export_headers(INSPECTOR_COLUMNS), rows)


# --- conflicts and the whole city ------------------------------------------------------------


def demo_conflicts(
    session: Session,
    *,
    count: int,
    seed: int,
    clock: Clock,
    data_dir: Path = DEFAULT_DATA_DIR,
) -> int:
    """Declare `count` conflicts of interest between inspectors and entities near them.

    An inspector of a station is paired with an entity that station supervises, others with an
    entity anywhere; deterministic for the same seed and registry. Pairs already declared are
    skipped, so running it again adds nothing. Each goes through the registry's
    `declare_conflict` (one audit row each). Returns how many were added.
    """
    city, _ = load_city(data_dir)
    spec = city.conflicts
    rng = Random(f"{seed}/conflicts")
    inspectors = session.exec(
        select(Inspector.badge_no, Inspector.unit_code).order_by(Inspector.badge_no)
    ).all()
    unit_sizes = dict(
        session.exec(
            select(Entity.supervising_unit, func.count())
            .group_by(Entity.supervising_unit)
            .order_by(Entity.supervising_unit)
        ).all()
    )
    if not inspectors or not unit_sizes:
        return 0
    units = sorted(unit_sizes)
    today = clock.today()
    declared = set(
        session.exec(
            select(Inspector.badge_no, Entity.uscc)
            .join(ConflictDeclaration, ConflictDeclaration.inspector_id == Inspector.id)
            .join(Entity, Entity.id == ConflictDeclaration.entity_id)
        ).all()
    )
    drawn: set[tuple[str, str]] = set()
    added = 0
    for _ in range(count * 3):
        if len(drawn) == count:
            break
        badge, own_unit = rng.choice(inspectors)
        unit = own_unit if own_unit in unit_sizes else rng.choice(units)
        uscc, kind = session.exec(
            select(Entity.uscc, Entity.entity_type)
            .where(Entity.supervising_unit == unit)
            .order_by(Entity.uscc)
            .offset(rng.randrange(unit_sizes[unit]))
            .limit(1)
        ).one()
        if (badge, uscc) in drawn:
            continue
        drawn.add((badge, uscc))
        valid_from = today - timedelta(days=rng.randint(*spec.declared_days_ago))
        valid_until = (
            valid_from + timedelta(days=rng.randint(*spec.ended_after_days))
            if rng.random() < spec.ended_share
            else None
        )
        reason = rng.choice(spec.reasons[EntityType(kind)])
        if (badge, uscc) in declared:
            continue
        declaration = ConflictCreate(
            inspector_badge=badge,
            uscc=uscc,
            reason=reason,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        declare_conflict(session, declaration, actor=DEMO_ACTOR, clock=clock)
        added += 1
    return added


def build_demo_city(
    session: Session,
    data_dir: Path,
    workdir: Path,
    *,
    entities: int = 60_000,
    inspectors: int = 110,
    seed: int = 2018,
    clock: Clock,
) -> dict[str, int]:
    """Load the reference data, write the two export files into `workdir`, import them through
    the registry importer and declare the demo conflicts.

    Returns the reference rows loaded and the registry tables' row counts afterwards. Running it
    again on the same database changes nothing (every step is an upsert).
    """
    # Imported on use: the file writers (tests, benchmarks, `python -m`) need no importer.
    from supervision.registry.importer import import_entities, import_inspectors

    counts = load_reference_data(session, data_dir, actor=DEMO_ACTOR, clock=clock)
    city, _ = load_city(data_dir)
    today = clock.today()
    workdir.mkdir(parents=True, exist_ok=True)
    entities_csv = workdir / ENTITIES_FILE
    inspectors_csv = workdir / INSPECTORS_FILE
    write_entities_csv(entities_csv, entities=entities, seed=seed, today=today, data_dir=data_dir)
    write_inspectors_csv(
        inspectors_csv, inspectors=inspectors, seed=seed, today=today, data_dir=data_dir
    )
    for path, import_file in ((entities_csv, import_entities), (inspectors_csv, import_inspectors)):
        with path.open("rb") as source:
            import_file(session, source, filename=path.name, actor=DEMO_ACTOR, clock=clock)
    demo_conflicts(session, count=city.conflicts.count, seed=seed, clock=clock, data_dir=data_dir)
    tables = (
        ("entities", Entity),
        ("annual_reports", AnnualReport),
        ("inspectors", Inspector),
        ("conflicts", ConflictDeclaration),
    )
    for name, model in tables:
        counts[name] = session.exec(select(func.count()).select_from(model)).one()
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="写出演示城市的登记导出文件 / write demo exports")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--inspectors", type=int, default=110)
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_entities_csv(
        args.outdir / ENTITIES_FILE,
        entities=args.entities,
        seed=args.seed,
        today=args.today,
        data_dir=args.data_dir,
    )
    written = time.perf_counter()
    write_inspectors_csv(
        args.outdir / INSPECTORS_FILE,
        inspectors=args.inspectors,
        seed=args.seed,
        today=args.today,
        data_dir=args.data_dir,
    )
    print(
        f"{args.entities} entities in {written - started:.1f} s, "
        f"{args.inspectors} inspectors in {time.perf_counter() - written:.1f} s → {args.outdir}"
    )


if __name__ == "__main__":
    main()
