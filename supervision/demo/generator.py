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
from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from random import Random

from sqlalchemy import func
from sqlmodel import Session, select

from supervision.clock import Clock
from supervision.demo.city import DEFAULT_DATA_DIR, DemoCity, Trading, load_city
from supervision.demo.people import ORG_TYPE, CodeSequence, People, apportion, one_of, picker
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
)
from supervision.registry.reference import (
    ReferenceData,
    load_reference_data,
)
from supervision.registry.schemas import ConflictCreate
from supervision.registry.service import declare_conflict
from supervision.registry.uscc import ALPHABET, make_uscc

DEMO_ACTOR = "demo"
ENTITIES_FILE = "entities.csv"
INSPECTORS_FILE = "inspectors.csv"


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
    new_codes = CodeSequence(Random(f"{seed}/codes/new"), ALPHABET, 3, prefix="MA")
    legacy_codes = CodeSequence(Random(f"{seed}/codes/legacy"), "0123456789", 4)
    people = People(city)
    type_labels = _export_labels(ENTITY_TYPE_VALUES)
    status_labels = _export_labels(ENTITY_STATUS_VALUES)
    region_names = {r.code: r.name for r in ref.regions}
    stations = ref.station_of_township()

    pick_type = picker(city.entity_types)
    pick_risk = picker(city.risk_classes)
    pick_status = picker(city.statuses)
    pick_missing = picker(city.annual_reports.missing_trailing_years)
    pick_address = picker(city.business_address)
    pick_suffix = picker(city.enterprise_suffixes)
    pick_pattern = picker(city.individual_name_patterns)
    authorities = city.registration_authorities
    pick_authority = picker({n: a.weight for n, a in enumerate(authorities)})
    local = authorities[0]
    pick_industry = {
        kind: picker({code: w.weights.get(kind, 0) for code, w in city.industries.items()})
        for kind in EntityType
        if city.entity_types.get(kind, 0) > 0
    }
    words = {
        (code, kind): getattr(w, kind.value)
        for code, w in city.industries.items()
        for kind in EntityType
    }
    pick_township = {
        kind: picker(
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
    pick_year = picker(year_weight)
    oldest_revoked = today.year - city.revoked_min_age_years
    pick_revoked_year = picker({y: w for y, w in year_weight.items() if y <= oldest_revoked})
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
        place = one_of(places[township], random())
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
        uscc = make_uscc("9", ORG_TYPE[kind], authority.region, org_code)

        rep, surname, male = people.person(rng)
        born = established - int(age_lo + random() * (age_hi - age_lo))

        industry = pick_industry[kind](random())
        word = one_of(words[industry, kind], random())
        trade = one_of(trade_chars, random()) + one_of(trade_chars, random())
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
    people = People(city)
    yes, no = (_export_labels(BOOLEAN_VALUES)[v] for v in (True, False))
    spec = city.inspectors
    per_department = apportion({d: s.weight for d, s in spec.departments.items()}, inspectors)
    lapse_lo, lapse_hi = 1, spec.cert_valid_days[0]
    for department in ref.departments:
        if department.code not in spec.departments:
            continue
        dept = spec.departments[department.code]
        pick_qualification = picker(dept.qualifications)
        seq = 0
        for unit, count in apportion(dept.units, per_department[department.code]).items():
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
