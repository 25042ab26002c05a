"""Who sees what: every field of an entity, an inspector and a drawn task, by audience.

The table below is the declaration; the read schemas apply it (`visible`, `restrict`) and
`tests/architecture/test_disclosure.py` checks every API list and page against it, per role.
A field missing from a record's rows is shown to nobody outside the database.

Marks: ``x`` shown; ``.`` never; ``o`` shown only for the audience's own work (an inspector
sees the entities of the tasks he or she is on — and only those entities at all);
``u`` shown only where the draw is unsealed (sr1: its strata are public facts). The
liaison (another department's system) reads the restrictions lookup and nothing here.

Sources: the 2024 《企业信息公示暂行条例》 and the 2025 《市场监督管理信用监管办法》 publish
registration facts and inspection results; credit-risk classes (企业信用风险分类结果) are
for the regulator's internal use; identity numbers and phone numbers are personal
information (《个人信息保护法》 Art. 6: no more than the purpose needs).
"""

from enum import StrEnum

from supervision.accounts.models import User


class Audience(StrEnum):
    public = "public"
    inspector = "inspector"
    reviewer = "reviewer"
    planner = "planner"
    admin = "admin"
    liaison = "liaison"


_TABLE = """
record     field                   public inspector reviewer planner admin liaison
entity     uscc                    x      o         x        x       x     .
entity     name                    x      o         x        x       x     .
entity     entity_type             x      o         x        x       x     .
entity     legal_rep               x      o         x        x       x     .
entity     registered_address      x      o         x        x       x     .
entity     business_address        .      o         x        x       x     .
entity     region_code             x      o         x        x       x     .
entity     industry_code           x      o         x        x       x     .
entity     registration_authority  x      o         x        x       x     .
entity     supervising_unit        .      o         x        x       x     .
entity     established_on          x      o         x        x       x     .
entity     status                  x      o         x        x       x     .
entity     phone                   .      o         x        x       x     .
entity     uscc_check_ok           .      .         x        x       x     .
entity     annual_report_years     .      .         x        x       x     .
entity     opened_on               .      .         x        x       x     .
entity     ceased_trading_on       .      .         x        x       x     .
entity     revoked_on              .      .         x        x       x     .
entity     risk_class              .      .         x        x       x     .
entity     legal_rep_id_no         .      .         .        x       x     .
inspector  badge_no                x      x         x        x       x     .
inspector  name                    x      x         x        x       x     .
inspector  department_code         x      x         x        x       x     .
inspector  unit_code               x      x         x        x       x     .
inspector  qualifications          .      x         x        x       x     .
inspector  active                  .      x         x        x       x     .
inspector  is_expert               .      x         x        x       x     .
inspector  cert_valid_until        .      .         x        x       x     .
inspector  phone                   .      .         .        x       x     .
task       position                x      x         x        x       x     .
task       uscc                    x      x         x        x       x     .
task       entity_name             x      x         x        x       x     .
task       state                   x      x         x        x       x     .
task       understaffed            x      x         x        x       x     .
task       team                    x      x         x        x       x     .
task       stratum                 u      u         x        x       x     .
task       ticket                  u      u         x        x       x     .
"""

MARKS = frozenset("x.ou")


def _parse(text: str) -> dict[str, dict[str, dict[Audience, str]]]:
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    audiences = [Audience(a) for a in header[2:]]
    table: dict[str, dict[str, dict[Audience, str]]] = {}
    for row in rows:
        record, name, *marks = row
        if len(marks) != len(audiences) or not set(marks) <= MARKS:
            raise ValueError(f"disclosure table: bad row {row}")
        table.setdefault(record, {})[name] = dict(zip(audiences, marks, strict=True))
    return table


TABLE = _parse(_TABLE)


def audience_of(user: User | None) -> Audience:
    """The audience a signed-in user (or an anonymous visitor) reads as."""
    return Audience.public if user is None else Audience(user.role.value)


def visible(record: str, audience: Audience, *, sealed: bool = False) -> frozenset[str]:
    """The fields of ``record`` this audience may read (``o`` rows are the caller's to scope
    to the audience's own work; ``u`` rows drop out of a sealed draw)."""
    out = set()
    for name, marks in TABLE[record].items():
        mark = marks[audience]
        if mark in "xo" or (mark == "u" and not sealed):
            out.add(name)
    return frozenset(out)


def scoped(record: str, audience: Audience) -> bool:
    """Whether this audience sees only its own records of this kind (an ``o`` anywhere)."""
    return any(marks[audience] == "o" for marks in TABLE[record].values())


def restrict(record: str, audience: Audience, data: dict, *, sealed: bool = False) -> dict:
    """``data`` with only the fields this audience may read."""
    keep = visible(record, audience, sealed=sealed)
    return {k: v for k, v in data.items() if k in keep}
