"""The announced ceremony: when the entropy may be entered, and from what.

A commitment is only worth something if it was public before the randomness existed, and
the randomness only if it came when and how it was announced. So a batch carries its
ceremony (`Batch.ceremony_at`, place, entropy source); freezing needs the commitment to be
published at least `notice` before the ceremony; entropy is refused before it, and entered
more than `grace` after it only with a reason, published with the draw. A beacon batch
fixes at freeze the chain and the first round at or after the ceremony, inside the committed
entropy plan (`sr1.beacon_plan`), and is drawn by the scheduler from that round alone.

The rules come from the settings, through `CeremonyRules.of`, at the composition roots.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from supervision.clock import CHINA_TZ, as_utc
from supervision.documents.numbers import series
from supervision.draw import sr1
from supervision.errors import Conflict, Invalid
from supervision.planning.models import ENTROPY_SOURCES, Batch, Commitment
from supervision.registry.reference import read_yaml_model
from supervision.settings import Settings

BEACONS_FILE = "beacons.yaml"
MAX_WITNESSES = 20


class BeaconChain(BaseModel):
    label: str
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    public_key: str = Field(pattern=r"^[0-9a-f]{64,512}$")
    scheme: str = Field(pattern=r"^(pedersen-bls-chained|bls-unchained-g1-rfc9380)$")
    period: int = Field(ge=1)
    genesis_time: int = Field(ge=0)


class BeaconChains(BaseModel):
    chains: dict[str, BeaconChain]


@lru_cache(maxsize=4)
def _chains(path: Path, stamp: float) -> dict[str, BeaconChain]:
    return read_yaml_model(path, BeaconChains).chains


def beacon_chains(data_dir: Path) -> dict[str, BeaconChain]:
    """The beacons a batch may announce (`data/beacons.yaml`), by name."""
    path = data_dir / BEACONS_FILE
    return _chains(path, path.stat().st_mtime)


@dataclass(frozen=True)
class CeremonyRules:
    notice: timedelta = timedelta(hours=24)
    grace: timedelta = timedelta(hours=2)
    chains: dict[str, BeaconChain] = field(default_factory=dict)
    # Where an authority holds its ceremonies unless a batch names another place.
    places: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings) -> "CeremonyRules":
        book = series(settings.data_dir)
        return cls(
            notice=timedelta(hours=settings.ceremony_notice_hours),
            grace=timedelta(hours=settings.ceremony_grace_hours),
            chains=beacon_chains(settings.data_dir),
            places={name: book.address(name) for name in book.authorities},
        )

    def place_of(self, authority: str) -> str:
        return self.places.get(authority) or authority


DEFAULT_RULES = CeremonyRules()


def china_time(at: datetime) -> str:
    """A moment as the bureau announces it: "2026-12-01 10:00（北京时间）"."""
    at = as_utc(at)
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") + "（北京时间）"


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} 小时"


def check_source(source: str, chain: str | None, rules: CeremonyRules) -> None:
    if source not in ENTROPY_SOURCES:
        raise Invalid(
            f"熵来源“{source}”无效：应为 {'、'.join(ENTROPY_SOURCES)} 之一",
            f"unknown entropy source {source!r}",
        )
    if source == "beacon":
        if not chain or chain not in rules.chains:
            raise Invalid(
                f"信标链“{chain or ''}”未配置：可选 {'、'.join(rules.chains) or '（无）'}",
                f"beacon chain {chain!r} is not configured",
            )
    elif chain:
        raise Invalid("只有信标来源需要指定信标链", "only a beacon source names a chain")


def check_freeze(batch: Batch, now: datetime, rules: CeremonyRules) -> None:
    """The commitment goes public now: at least the notice before the ceremony."""
    if batch.ceremony_at is None:
        return
    at = as_utc(batch.ceremony_at)
    if now > at - rules.notice:
        raise Conflict(
            f"承诺须在抽取仪式（{china_time(at)}）前至少 {_hours(rules.notice)}公示；"
            f"现在冻结已晚于 {china_time(at - rules.notice)}。请改定仪式时间后再冻结",
            f"the commitment must be public at least {rules.notice} before the ceremony at "
            f"{at.isoformat()}; move the ceremony first",
            ceremony_at=at.isoformat(),
            latest_freeze=(at - rules.notice).isoformat(),
        )


def check_entropy_time(
    batch: Batch, now: datetime, rules: CeremonyRules, late_reason: str | None
) -> str | None:
    """Entropy may be entered from the ceremony on; after the grace period only with a
    reason (returned, to be published with the draw)."""
    if batch.ceremony_at is None:
        return late_reason or None
    at = as_utc(batch.ceremony_at)
    if now < at:
        raise Conflict(
            f"抽取仪式尚未开始：将于 {china_time(at)} 开放录入熵值",
            f"the ceremony has not begun: entropy opens at {at.isoformat()}",
            opens_at=at.isoformat(),
        )
    reason = (late_reason or "").strip()
    if now > at + rules.grace and len(reason) < 4:
        raise Invalid(
            f"录入时间已超过公告的仪式时间 {_hours(rules.grace)}以上：须说明迟延原因"
            "（至少4个字，将与抽取结果一并公示）",
            "entropy entered past the grace period needs a reason (published with the draw)",
        )
    return reason or None


def check_witnesses(witnesses: list[dict[str, str]]) -> list[dict[str, str]]:
    """Names and roles of the ceremony's witnesses, as published."""
    if len(witnesses) > MAX_WITNESSES:
        raise Invalid(f"见证人最多 {MAX_WITNESSES} 名", f"at most {MAX_WITNESSES} witnesses")
    out = []
    for n, w in enumerate(witnesses, 1):
        name, role = (w.get("name") or "").strip(), (w.get("role") or "").strip()
        if not name or not role:
            raise Invalid(
                f"第 {n} 名见证人须填写姓名和身份", f"witness {n} needs a name and a role"
            )
        if len(name) > 50 or len(role) > 50 or any(c in name + role for c in "\t\r\n"):
            raise Invalid(
                f"第 {n} 名见证人的姓名或身份过长或含换行", f"witness {n}: name or role invalid"
            )
        out.append({"name": name, "role": role})
    return out


@dataclass(frozen=True)
class BeaconRound:
    """The beacon round a frozen batch committed to."""

    chain_name: str
    chain_hash: str
    public_key: str
    scheme: str
    round: int
    round_time: datetime

    def to_json(self) -> str:
        return json.dumps(
            {
                "chain": self.chain_name,
                "hash": self.chain_hash,
                "public_key": self.public_key,
                "scheme": self.scheme,
                "round": self.round,
                "round_time": self.round_time.isoformat(),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> "BeaconRound":
        d = json.loads(text)
        return cls(
            d["chain"],
            d["hash"],
            d["public_key"],
            d["scheme"],
            d["round"],
            datetime.fromisoformat(d["round_time"]),
        )

    def plan(self) -> dict[str, Any]:
        return {
            "chain": self.chain_hash,
            "round": self.round,
            "scheme": self.scheme,
            "public_key": self.public_key,
        }


def beacon_round_for(batch: Batch, rules: CeremonyRules) -> BeaconRound | None:
    """The first round of the batch's chain at or after its ceremony (beacon batches)."""
    if batch.entropy_source != "beacon" or batch.ceremony_at is None:
        return None
    chain = rules.chains.get(batch.beacon_chain or "")
    if chain is None:
        raise Invalid(
            f"信标链“{batch.beacon_chain}”未配置", f"beacon chain {batch.beacon_chain!r} unknown"
        )
    at = int(as_utc(batch.ceremony_at).timestamp())
    number = sr1.beacon_round_at(chain.genesis_time, chain.period, at)
    when = datetime.fromtimestamp(
        sr1.beacon_round_time(chain.genesis_time, chain.period, number), UTC
    )
    return BeaconRound(
        batch.beacon_chain or "", chain.hash, chain.public_key, chain.scheme, number, when
    )


def committed_entropy_plan(batch: Batch, beacon: BeaconRound | None) -> str:
    """The entropy plan as committed: the planner's words, and a beacon's chain and round."""
    if beacon is None:
        return batch.entropy_plan
    return f"{batch.entropy_plan} ｜ " + sr1.beacon_plan(
        beacon.chain_hash, beacon.round, beacon.scheme, beacon.public_key
    )


def commitment_beacon(c: Commitment) -> BeaconRound | None:
    return BeaconRound.from_json(c.beacon_json) if c.beacon_json else None


def default_entropy_plan(at: datetime, place: str, source: str, chain: BeaconChain | None) -> str:
    """The announced words when the planner gives none."""
    when = china_time(at)
    if source == "beacon" and chain is not None:
        return f"{when}起首个 {chain.label} 公共随机信标轮次，由系统自动获取并核验"
    if source == "lottery":
        return f"{when}在{place}录入当期公开开奖结果"
    return f"{when}在{place}由现场见证人掷骰子"
