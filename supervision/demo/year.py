"""A year of the demo city, lived through the product's own services.

`supervision demo --year Y` builds the city as it stood at the start of the year (through the
registry importer) and then walks the year day by day: the scheduler's jobs run at their
times on a clock set to each moment (`jobs.runner.run_job`, the same entry the embedded
scheduler uses), and simulated people act between them — the planner announces each batch of
the annual plan, the scheduler freezes it at the announced time, witnesses roll the dice at
the ceremony (or that evening's lottery draw is typed in, or the committed beacon round is
fetched), notices are numbered, inspectors record what they find, the reviewer approves and
publishes, decides the listing proposals the rulebook makes, handles objections, removals
and zombie candidates. The registration office's export of 1 July brings the past year's
annual reports, and the July run lists those who filed none.

Nothing writes a row directly: every step is a service call a page, the API or the CLI also
makes, so every rule applies (notice periods, ceremony times, independence of the reviewer,
deadlines). The people's behaviour is data (`data/demo/year.yaml`) and seeded; the sealed
draws' salts are fresh secrets at every freeze (as they must be), so which entities a batch
draws — and the figures with them — differ a little from run to run. The figures the year
ends with are computed by the product afterwards.
"""

from __future__ import annotations

import csv
import dataclasses
import heapq
import itertools
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from random import Random
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from supervision.accounts.models import User
from supervision.calendar import default_calendar
from supervision.clock import CHINA_TZ, FixedClock
from supervision.db import transaction
from supervision.demo.generator import ENTITIES_FILE, build_demo_city
from supervision.documents import numbers
from supervision.enforcement import decisions, zombies
from supervision.enforcement import schemas as es
from supervision.enforcement.models import EnforcementCandidate, EntryState, ListEntry, ListKind
from supervision.enforcement.rulebook import rulebook
from supervision.errors import DomainError
from supervision.inspection import schemas as ins
from supervision.inspection import service as inspection
from supervision.inspection.versions import current_version, lines_of
from supervision.jobs.catalog import all_jobs
from supervision.jobs.runner import Job, run_job
from supervision.planning import drawing, events, freeze, service
from supervision.planning import schemas as ps
from supervision.planning.ceremony import CeremonyRules
from supervision.planning.models import Batch, BatchState, Task, TaskMember, TaskState
from supervision.portal.statistics import year_summary
from supervision.registry.columns import ENTITY_COLUMNS, ENTITY_STATUS_VALUES, ENTITY_TYPE_VALUES
from supervision.registry.importer import import_entities
from supervision.registry.models import EntityStatus, EntityType, Inspector
from supervision.registry.reference import read_yaml_model, result_codebook
from supervision.registry.service import get_item
from supervision.settings import Settings

log = logging.getLogger("supervision.demo.year")

YEAR_FILE = "demo/year.yaml"
PLANNER, REVIEWER = "planner", "reviewer"
DEMO_PASSWORD = "demo-password"
WITNESSES = [
    [{"name": "马丽", "role": "昌吉市人大代表"}, {"name": "王建国", "role": "个体工商户代表"}],
    [{"name": "阿依古丽", "role": "昌吉市政协委员"}, {"name": "李强", "role": "企业代表"}],
    [{"name": "赵文华", "role": "社会监督员"}, {"name": "马俊", "role": "新闻媒体记者"}],
]
# The officer's own words stay internal; the public record shows the category only.
RECUSAL_NOTES = (
    "该执法人员的配偶在该企业任财务负责人",
    "该执法人员与该企业法定代表人系表兄弟",
    "该执法人员曾在该企业任职，离职未满三年",
)
PROBLEM_WORDS = {
    "6": "经实地核查，该主体不在登记的住所（经营场所）经营，无法取得联系",
    "B": "未按规定公示股东出资、行政许可等即时信息",
    "D": "未按规定办理备案事项",
    "3": "进货查验记录不全，部分食品未索取购货凭证",
    "4": "计量器具未按规定检定",
    "E": "经营场所公示材料不全，已当场责令改正并整改完毕",
}
HANDLING = {"E": "已责令改正，企业当场整改", "B": "责令限期公示", "6": "拟列入经营异常名录"}


# ---- the year's parameters ------------------------------------------------------------------


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MonthDay = tuple[Annotated[int, Field(ge=1, le=12)], Annotated[int, Field(ge=1, le=31)]]
Share = Annotated[float, Field(ge=0, le=1)]


class PlanSpec(_Config):
    name: str
    authority: str
    filed_with: str
    published: MonthDay


class Timeline(_Config):
    announce_days_before: Annotated[int, Field(ge=2)]
    freeze_days_before: Annotated[int, Field(ge=2)]
    window_starts_after: Annotated[int, Field(ge=1)]
    notice_days_after: Annotated[int, Field(ge=0)]


class BatchSpec(_Config):
    name: str
    ceremony: MonthDay
    items: list[str] = Field(min_length=1)
    types: list[EntityType] = Field(default_factory=list)
    industries: list[str] = Field(default_factory=list)
    category: Literal["general", "key"] = "general"
    initiator: str = "SCJ"
    joint: list[str] = Field(default_factory=list)
    quotas: dict[str, str] = Field(min_length=1)
    team: list[tuple[str, int] | tuple[str, int, str]] = Field(min_length=1)
    window_days: Annotated[int, Field(ge=5, le=120)]
    entropy: Literal["dice", "lottery", "beacon"] = "dice"


class InspectionSpec(_Config):
    review_after_working_days: tuple[int, int]
    returned_every: Annotated[int, Field(ge=1)]
    publish_weekday: Annotated[int, Field(ge=0, le=4)]
    late_batches: Annotated[int, Field(ge=0)]
    late_by_working_days: tuple[int, int]
    recusal_share: Share
    withdrawn_per_batch: Annotated[int, Field(ge=0)]
    withdrawn_batches: Annotated[int, Field(ge=0)]
    outcomes: dict[Literal["general", "key"], dict[str, Annotated[float, Field(ge=0)]]]


class EnforcementSpec(_Config):
    decide_after_working_days: tuple[int, int]
    objection_share: Share
    objection_upheld_share: Share
    removal_share: Share
    removal_after_days: tuple[int, int]
    zombie_reviews_per_week: tuple[int, int]
    report_filing: dict[str, Share]


class CitySize(_Config):
    entities: Annotated[int, Field(ge=100)]
    inspectors: Annotated[int, Field(ge=10)]


class YearSpec(_Config):
    version: str
    city: CitySize
    plan: PlanSpec
    timeline: Timeline
    batches: list[BatchSpec] = Field(min_length=1)
    inspection: InspectionSpec
    enforcement: EnforcementSpec


def load_year(data_dir: Path) -> YearSpec:
    return read_yaml_model(data_dir / YEAR_FILE, YearSpec, name=YEAR_FILE)


# ---- the simulation -------------------------------------------------------------------------

Step = Callable[[FixedClock], None]


def china(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), CHINA_TZ)


@dataclass
class YearLog:
    """What happened, for the progress display and the closing summary (counts only)."""

    counts: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)  # steps a rule refused (kept, not hidden)


class Year:
    """One year, as a queue of moments: the scheduler's jobs and people's steps."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        spec: YearSpec,
        *,
        year: int,
        seed: int,
        until: date,
        work: Path,
        progress: Callable[[str], None] | None = None,
        stop_at: datetime | None = None,
    ) -> None:
        self.engine = engine
        self.reader = engine.execution_options(sqlite_read=True)  # reads never queue for the lock
        self.work = work
        self.settings = settings
        self.spec = spec
        self.year = year
        self.until = until
        # The last moment lived: the end of `until`, or earlier (now, for the year under way:
        # nothing is dated in the future).
        self.end = min(china(until, 23, 59), stop_at or china(until, 23, 59))
        self.rng = Random(f"{seed}/year/{year}")
        self.progress = progress or (lambda _line: None)
        self.rules = CeremonyRules.of(settings)
        self.calendar = default_calendar(settings.data_dir)
        self.codes = result_codebook(settings.data_dir)
        self.book = rulebook(settings.data_dir)
        self.plan_code = f"CJ-{year}"
        self.queue: list[tuple[datetime, int, str, Step]] = []
        self.order = itertools.count()
        self.users: dict[str, User] = {}
        self.log = YearLog()
        self.late_batches: set[str] = set()
        self.publications: set[tuple[str, date]] = set()
        self.now = china(date(year, 1, 1), 0)

    # -- the queue --

    def at(self, when: datetime, what: str, step: Step) -> None:
        """Queue a step; a step due before the present moment (a deadline already passed)
        happens now — the clock never runs backwards."""
        when = max(when, self.now)
        heapq.heappush(self.queue, (when, next(self.order), what, step))

    def working_day_on_or_after(self, day: date) -> date:
        while not self.calendar.is_workday(day):
            day += timedelta(days=1)
        return day

    def working_days_after(self, day: date, n: int) -> date:
        return self.calendar.working_days_after(day, n)

    def run(self) -> YearLog:
        self._schedule_jobs()
        self._schedule_plan()
        self._schedule_office()
        month = None
        while self.queue and self.queue[0][0] <= self.end:
            when, _, what, step = heapq.heappop(self.queue)
            self.now = when
            if when.month != month:
                month = when.month
                self.progress(f"{when.date().isoformat()[:7]}  {self._summary()}")
            try:
                step(FixedClock(when.astimezone(UTC)))
            except DomainError as exc:  # a rule refused the step: on record, the year goes on
                self.log.refused.append(f"{when:%m-%d %H:%M} {what}: {exc.zh}")
                log.info("refused: %s: %s", what, exc.zh)
        self.progress(f"{self.until.isoformat()}  {self._summary()}")
        return self.log

    def _summary(self) -> str:
        c = self.log.counts
        return (
            f"批次 {c['drawn']}/{len(self.spec.batches)} 已抽取 · 结果 {c['published']} 项已公示 · "
            f"列入 {c['listed']} · 僵尸企业处理 {c['zombies']}"
        )

    # -- the scheduler's daily jobs, at their times --

    def _schedule_jobs(self) -> None:
        day = date(self.year, 1, 1)
        jobs = [j for j in all_jobs().values() if not j.tick]
        while day <= self.until:
            for job in jobs:
                cron = job.cron
                if "day" in cron and day.day != int(cron["day"]):
                    continue
                when = china(day, int(cron.get("hour", 0)), int(cron.get("minute", 0)))
                self.at(when, job.name, self._job(job))
            day += timedelta(days=1)

    def _job(self, job: Job) -> Step:
        def step(clock: FixedClock) -> None:
            row = run_job(self.engine, job, clock, self.settings)
            if row is not None and row.status != "ok":
                self.log.refused.append(f"{clock.today()} job {job.name}: {row.detail}")
            if job.name == "enforcement_results" and row is not None:
                self._after_proposals(clock)
            if job.name == "enforcement_annual_reports" and row is not None and row.status == "ok":
                if json.loads(row.detail or "{}").get("proposed"):
                    self._after_annual_proposals(clock)

        return step

    def _tick(self, clock: FixedClock) -> None:
        """The scheduler's tick (planning.ceremonies: due freezes and beacon draws)."""
        run_job(self.engine, all_jobs()["planning.ceremonies"], clock, self.settings)

    def _schedule_office(self) -> None:
        """The registration office's export of 1 July (before the morning's jobs), and the
        weekly hour the reviewer gives to zombie candidates."""
        export = date(self.year, 7, 1)
        self.at(china(export, 5), "export", self.annual_reports_export(self.work, export))
        day = date(self.year, 1, 1)
        while day <= self.until:
            if day.weekday() == 4 and self.calendar.is_workday(day):
                self.at(china(day, 15), "zombies", self.zombie_review)
            day += timedelta(days=1)

    # -- the plan and its batches --

    def _schedule_plan(self) -> None:
        published = date(self.year, *self.spec.plan.published)
        self.at(china(self.working_day_on_or_after(published), 9), "plan", self._publish_plan)
        late = self.rng.sample(range(len(self.spec.batches)), self.spec.inspection.late_batches)
        for n, b in enumerate(self.spec.batches, start=1):
            code = f"{self.plan_code}-{n:02d}"
            if n - 1 in late:
                self.late_batches.add(code)
            ceremony_day = self.working_day_on_or_after(date(self.year, *b.ceremony))
            ceremony = china(ceremony_day, 10)
            t = self.spec.timeline
            announce = china(ceremony_day - timedelta(days=t.announce_days_before), 9)
            self.at(announce, f"announce {code}", self._announce(code, n, b, ceremony))

    def _publish_plan(self, clock: FixedClock) -> None:
        p = self.spec.plan
        with transaction(self.engine) as session:
            service.create_plan(
                session,
                ps.PlanCreate(
                    code=self.plan_code,
                    year=self.year,
                    name=p.name.format(year=self.year),
                    authority=p.authority,
                    filed_with=p.filed_with,
                ),
                actor=PLANNER,
                clock=clock,
            )
            service.publish_plan(session, self.plan_code, actor=PLANNER, clock=clock)

    def _quotas(self, b: BatchSpec) -> dict[str, ps.StratumQuota]:
        if set(b.quotas) == {"all"}:
            return {k: ps.StratumQuota(percent=b.quotas["all"]) for k in "ABCD"}
        return {k: ps.StratumQuota(percent=v) for k, v in b.quotas.items()}

    def _announce(self, code: str, n: int, b: BatchSpec, ceremony: datetime) -> Step:
        def step(clock: FixedClock) -> None:
            t = self.spec.timeline
            start = ceremony.date() + timedelta(days=t.window_starts_after)
            freeze_at = china(ceremony.date() - timedelta(days=t.freeze_days_before), 9)
            at = ceremony if b.entropy != "lottery" else china(ceremony.date(), 21, 30)
            data = ps.BatchCreate(
                code=code,
                name=f"{self.year}年{b.name}",
                initiating_department=b.initiator,
                participating_departments=b.joint,
                item_codes=b.items,
                filters=ps.BatchFilters(
                    industry_codes=b.industries, entity_types=[k.value for k in b.types]
                ),
                quotas=self._quotas(b),
                team=[
                    ps.TeamSlot(group=s[0], count=s[1], qualification=s[2] if len(s) > 2 else None)
                    for s in b.team
                ],
                cross_unit=True,
                window_start=start,
                window_end=start + timedelta(days=b.window_days),
                ceremony_at=at,
                entropy_source=b.entropy,
                # A lottery's five digits alone are few: the witnesses' dice join them, and
                # the announcement says so (the other sources take the default words).
                entropy_plan=(
                    f"{at:%Y-%m-%d %H:%M}（北京时间）于本局随机抽取室录入当晚体育彩票排列5"
                    "开奖号码，及现场见证人掷骰子10次"
                    if b.entropy == "lottery"
                    else ""
                ),
                beacon_chain="quicknet" if b.entropy == "beacon" else None,
                freeze_at=freeze_at,
            )
            with transaction(self.engine) as session:
                service.create_batch(
                    session, self.plan_code, data, actor=PLANNER, clock=clock, rules=self.rules
                )
            self.at(freeze_at + timedelta(minutes=1), f"tick {code}", self._tick)
            if b.entropy == "beacon":
                self.at(at + timedelta(seconds=30), f"tick {code}", self._beacon(code, n, at))
            else:
                witnesses = WITNESSES[n % len(WITNESSES)]
                self.at(at + timedelta(minutes=5), f"draw {code}", self._draw(code, b, witnesses))

        return step

    def _entropy(self, b: BatchSpec) -> list[str]:
        if b.entropy == "lottery":
            digits = " ".join(str(self.rng.randint(0, 9)) for _ in range(5))
            dice = " ".join(str(self.rng.randint(1, 6)) for _ in range(10))
            return [f"排列5 {digits}", dice]
        return [" ".join(str(self.rng.randint(1, 6)) for _ in range(20))]

    def _draw(self, code: str, b: BatchSpec, witnesses: list[dict[str, str]]) -> Step:
        def step(clock: FixedClock) -> None:
            with transaction(self.engine) as session:
                drawing.enter_entropy(
                    session,
                    code,
                    self._entropy(b),
                    actor=PLANNER,
                    clock=clock,
                    storage=self.settings.storage_dir,
                    witnesses=witnesses,
                    rules=self.rules,
                )
            self._after_draw(code, b, clock)

        return step

    def _beacon(self, code: str, n: int, at: datetime) -> Step:
        """The scheduler fetches the committed round at the ceremony. Where the round cannot
        be had (an isolated network), the scheduler retries and alerts; the next morning the
        planner withdraws the commitment publicly and announces a dice ceremony instead."""

        def step(clock: FixedClock) -> None:
            self._tick(clock)
            with transaction(self.engine) as session:
                drawn = service.get_batch(session, code).state != BatchState.frozen
            if drawn:
                self._after_draw(code, self.spec.batches[n - 1], clock)
                return
            retry = self.working_days_after(at.date(), 1)
            self.at(china(retry, 9), f"fallback {code}", self._fallback(code, n))

        return step

    def _fallback(self, code: str, n: int) -> Step:
        def step(clock: FixedClock) -> None:
            b = self.spec.batches[n - 1]
            ceremony = china(self.working_days_after(clock.today(), 2), 10)
            with transaction(self.engine) as session:
                if service.get_batch(session, code).state != BatchState.frozen:
                    return
                freeze.withdraw_commitment(
                    session,
                    code,
                    "承诺的信标轮次在仪式时间无法从本局网络获取，改为现场掷骰子，另行公告仪式时间",
                    actor=PLANNER,
                    clock=clock,
                )
                batch = service.get_batch(session, code)
                current = ps.BatchCreate.model_validate(
                    {
                        **_batch_input(session, batch),
                        "ceremony_at": ceremony,
                        "entropy_source": "dice",
                        "beacon_chain": None,
                        "entropy_plan": "",
                        "freeze_at": None,
                    }
                )
                service.revise_batch(
                    session, code, current, actor=PLANNER, clock=clock, rules=self.rules
                )
                freeze.freeze_batch(
                    session,
                    code,
                    actor=PLANNER,
                    clock=clock,
                    storage=self.settings.storage_dir,
                    rules=self.rules,
                )
            dice = b.model_copy(update={"entropy": "dice"})
            self.at(
                ceremony + timedelta(minutes=5),
                f"draw {code}",
                self._draw(code, dice, WITNESSES[0]),
            )

        return step

    # -- after the draw: notices, recusals, a withdrawal, the checks --

    def _after_draw(self, code: str, b: BatchSpec, clock: FixedClock) -> None:
        self.log.counts["drawn"] += 1
        self.progress(f"{clock.today()}  {code} 已抽取（{b.name}）")
        notice = china(clock.today() + timedelta(days=self.spec.timeline.notice_days_after), 11)
        self.at(notice, f"notices {code}", self._notices(code))
        with Session(self.reader) as session:
            batch = service.get_batch(session, code)
            tasks = session.exec(
                select(Task.id, Task.uscc, Task.state)
                .where(Task.batch_id == batch.id)
                .order_by(Task.position)
            ).all()
            window = (batch.window_start, batch.window_end)
        spec = self.spec.inspection
        first = self.working_day_on_or_after(clock.today() + timedelta(days=1))
        n_batch = int(code.rsplit("-", 1)[1])
        withdrawn = spec.withdrawn_per_batch if n_batch <= spec.withdrawn_batches else 0
        assigned = [uscc for _, uscc, state in tasks if state == TaskState.assigned]
        for uscc in assigned[:withdrawn]:
            self.at(china(first, 14), f"withdraw {code}", self._withdraw(code, uscc))
        for uscc in assigned[withdrawn:]:
            if self.rng.random() < spec.recusal_share:
                self.at(china(first, 14, 30), f"recuse {code}", self._recuse(code, uscc))
        self._schedule_checks(code, window, clock)

    def _notices(self, code: str) -> Step:
        def step(clock: FixedClock) -> None:
            with Session(self.reader) as session:
                batch = service.get_batch(session, code)
                usccs = session.exec(
                    select(Task.uscc)
                    .where(Task.batch_id == batch.id, Task.state != TaskState.withdrawn)
                    .where(Task.state != TaskState.unassigned)
                    .order_by(Task.position)
                ).all()
                keys = [f"{code}:{u}" for u in usccs]
                numbers.issue(
                    session,
                    self.settings.data_dir,
                    kind="notice",
                    keys=keys,
                    authority=self.spec.plan.authority,
                    year=self.year,
                    actor=PLANNER,
                    clock=clock,
                )
            self.log.counts["notices"] += len(keys)

        return step

    def _withdraw(self, code: str, uscc: str) -> Step:
        def step(clock: FixedClock) -> None:
            with transaction(self.engine) as session:
                events.withdraw_entity(
                    session,
                    code,
                    uscc,
                    "已注销",
                    actor=PLANNER,
                    clock=clock,
                    storage=self.settings.storage_dir,
                )
            self.log.counts["withdrawn"] += 1
            self._schedule_new_tasks(code, clock)

        return step

    def _recuse(self, code: str, uscc: str) -> Step:
        def step(clock: FixedClock) -> None:
            with transaction(self.engine) as session:
                task = _task(session, code, uscc)
                if task.state != TaskState.assigned:
                    return
                badge = _members(session, task.id)[-1]
                events.recuse(
                    session,
                    code,
                    uscc,
                    badge,
                    "回避",
                    actor=PLANNER,
                    clock=clock,
                    storage=self.settings.storage_dir,
                    note=self.rng.choice(RECUSAL_NOTES),
                )
            self.log.counts["recusals"] += 1

        return step

    def _schedule_checks(self, code: str, window: tuple[date, date], clock: FixedClock) -> None:
        """Each assigned task gets its day in the window (the team's visit)."""
        with Session(self.reader) as session:
            batch = service.get_batch(session, code)
            ids = session.exec(
                select(Task.id).where(Task.batch_id == batch.id, Task.state == TaskState.assigned)
            ).all()
        days = [
            d
            for k in range((window[1] - window[0]).days + 1)
            if self.calendar.is_workday(d := window[0] + timedelta(days=k))
        ]
        for tid in ids:
            day = self.rng.choice(days)
            self.at(china(day, 15, self.rng.randint(0, 59)), f"check {code}", self._check(tid))

    def _schedule_new_tasks(self, code: str, clock: FixedClock) -> None:
        """A withdrawal draws a replacement: it is checked like the others."""
        with Session(self.reader) as session:
            batch = service.get_batch(session, code)
            newest = session.exec(
                select(Task.id)
                .where(Task.batch_id == batch.id, Task.state == TaskState.assigned)
                .order_by(col(Task.id).desc())
                .limit(1)
            ).first()
            end = batch.window_end
        if newest is None:
            return
        day = self.working_day_on_or_after(
            max(clock.today() + timedelta(days=3), batch.window_start)
        )
        self.at(china(min(day, end), 15, 30), f"check {code}", self._check(newest))

    # -- inspectors and the reviewer --

    def _user(self, session: Session, username: str) -> User:
        user = self.users.get(username)
        if user is None:
            user = session.exec(select(User).where(User.username == username)).one()
            self.users[username] = user
        return user

    def _inspector(self, session: Session, badge: str) -> User:
        user = self.users.get(badge)
        if user is None:
            user = session.exec(
                select(User)
                .join(Inspector, col(Inspector.id) == User.inspector_id)
                .where(Inspector.badge_no == badge)
            ).one()
            self.users[badge] = user
        return user

    def _outcome(self, category: str) -> str:
        weights = self.spec.inspection.outcomes[category]
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def _result(self, session: Session, task: Task, day: date, detail: bool) -> ins.ResultCreate:
        batch = session.get(Batch, task.batch_id)
        category = self.spec.batches[int(batch.code.rsplit("-", 1)[1]) - 1].category
        code = self._outcome(category)
        problems = self.codes.problem_codes()
        lines = []
        for n, item_code in enumerate(service.batch_items(session, batch)):
            item = get_item(session, item_code)
            methods = item.methods.split(",")
            line_code = code if n == 0 else "1"
            words = PROBLEM_WORDS.get(line_code, "发现问题") if line_code in problems else ""
            if words and detail:
                words += "（已补充现场照片说明）"
            proof = None
            if line_code == "6":
                proof = ins.ProofCreate(
                    kind="site_visit", visit_date=day, note="实地核查：登记住所现为其他商户经营"
                )
            lines.append(
                ins.ResultLineCreate(
                    item_code=item_code,
                    codes=[line_code],
                    methods=["onsite"] if "onsite" in methods else methods[:1],
                    problems=words,
                    handling=HANDLING.get(line_code, ""),
                    check_date=day,
                    proof=proof,
                )
            )
        return ins.ResultCreate(lines=lines)

    def _check(self, task_id: int) -> Step:
        def step(clock: FixedClock) -> None:
            with transaction(self.engine) as session:
                task = session.get(Task, task_id)
                if task is None or task.state != TaskState.assigned:
                    return
                members = _members(session, task_id)
                if not members:
                    return
                user = self._inspector(session, members[0])
                data = self._result(session, task, clock.today(), detail=False)
                inspection.save_draft(
                    session, task_id, data, user=user, clock=clock, book=self.codes
                )
                inspection.submit(session, task_id, user=user, clock=clock, book=self.codes)
            self.log.counts["submitted"] += 1
            lo, hi = self.spec.inspection.review_after_working_days
            day = self.working_days_after(clock.today(), self.rng.randint(lo, hi))
            self.at(china(day, 16), "review", self._review(task_id, members[0]))

        return step

    def _review(self, task_id: int, badge: str) -> Step:
        def step(clock: FixedClock) -> None:
            self.log.counts["reviewed"] += 1
            back = self.log.counts["reviewed"] % self.spec.inspection.returned_every == 0
            with transaction(self.engine) as session:
                reviewer = self._user(session, REVIEWER)
                decision = (
                    ins.ReviewCreate(decision="return", reason="问题情况描述不够具体，请补充")
                    if back
                    else ins.ReviewCreate(decision="approve")
                )
                inspection.review(session, task_id, decision, user=reviewer, clock=clock)
                if back:
                    task = session.get(Task, task_id)
                    first = current_version(session, task)
                    check_day = max(line.check_date for line in lines_of(session, first))
                    data = self._result(session, task, check_day, detail=True)
            if back:
                self.at(
                    clock.now() + timedelta(days=1), "revise", self._revise(task_id, badge, data)
                )
                self.log.counts["returned"] += 1
                return
            with Session(self.reader) as session:
                batch = session.get(Batch, session.get(Task, task_id).batch_id)
                code, window_end = batch.code, batch.window_end
            self._plan_publication(code, window_end, clock)

        return step

    def _revise(self, task_id: int, badge: str, data: ins.ResultCreate) -> Step:
        def step(clock: FixedClock) -> None:
            with transaction(self.engine) as session:
                user = self._inspector(session, badge)
                inspection.save_draft(
                    session, task_id, data, user=user, clock=clock, book=self.codes
                )
                inspection.submit(session, task_id, user=user, clock=clock, book=self.codes)
            day = self.working_days_after(clock.today(), 1)
            self.at(china(day, 16), "review", self._review(task_id, badge))

        return step

    def _plan_publication(self, code: str, window_end: date, clock: FixedClock) -> None:
        """Approved results go out on the next publication day; a late batch's wait."""
        spec = self.spec.inspection
        day = clock.today() + timedelta(days=1)
        if code in self.late_batches:
            lo, hi = spec.late_by_working_days
            day = max(day, self.working_days_after(window_end, self.rng.randint(lo, hi)))
        while day.weekday() != spec.publish_weekday or not self.calendar.is_workday(day):
            day += timedelta(days=1)
        if (code, day) in self.publications:
            return
        self.publications.add((code, day))
        self.at(china(day, 17), f"publish {code}", self._publish(code))

    def _publish(self, code: str) -> Step:
        def step(clock: FixedClock) -> None:
            with transaction(self.engine) as session:
                reviewer = self._user(session, REVIEWER)
                out = inspection.publish_batch(
                    session, code, user=reviewer, clock=clock, calendar=self.calendar
                )
            self.log.counts["published"] += len(out.published)
            self.log.counts["late"] += len(out.late)

        return step

    # -- listings: the rulebook proposes (the daily job), the reviewer decides --

    def _after_proposals(self, clock: FixedClock) -> None:
        with Session(self.reader) as session:
            rows = session.exec(
                select(ListEntry.id, ListEntry.reason_code, ListEntry.decide_by)
                .where(
                    ListEntry.state == EntryState.proposed,
                    ListEntry.source == "result",
                    col(ListEntry.proposed_at) >= clock.now() - timedelta(hours=1),
                )
                .order_by(ListEntry.id)
            ).all()
        lo, hi = self.spec.enforcement.decide_after_working_days
        for entry_id, reason, decide_by in rows:
            day = self.working_days_after(clock.today(), self.rng.randint(lo, hi))
            if decide_by is not None:
                day = min(day, decide_by)
            if self.book.regime_on(clock.today()).reason(reason).order_days is not None:
                self.at(china(day, 10), "order", self._order(entry_id))
            else:
                self.at(china(day, 16, 30), "decide", self._decide(entry_id))

    def _order(self, entry_id: int) -> Step:
        """Instant information first needs a written order; listed if still unpublished."""

        def step(clock: FixedClock) -> None:
            with transaction(self.engine) as session:
                reviewer = self._user(session, REVIEWER)
                n = self.log.counts["orders"] + 1
                entry = decisions.record_order(
                    session,
                    entry_id,
                    es.OrderCreate(order_no=f"昌市监责公〔{self.year}〕{n}号"),
                    user=reviewer,
                    clock=clock,
                    book=self.book,
                    calendar=self.calendar,
                )
                period_end = entry.fact_on
            self.log.counts["orders"] += 1
            complies = self.rng.random() < 0.5
            day = self.working_days_after(period_end, 2)
            self.at(china(day, 16, 30), "decide", self._decide(entry_id, reject=complies))

        return step

    def _decide(self, entry_id: int, *, reject: bool = False) -> Step:
        def step(clock: FixedClock) -> None:
            with transaction(self.engine) as session:
                reviewer = self._user(session, REVIEWER)
                out = decisions.decide_many(
                    session,
                    es.BulkDecisionCreate(
                        entry_ids=[entry_id],
                        decision="reject" if reject else "list",
                        reason=(
                            "企业已在责令期限内公示即时信息"
                            if reject
                            else "经检查查实，依法列入经营异常名录"
                        ),
                        decision_no_prefix=f"昌市监异列〔{clock.today().year}〕",
                        skip_refused=True,
                    ),
                    user=reviewer,
                    clock=clock,
                    book=self.book,
                )
            if reject or not out.decided:
                return
            self.log.counts["listed"] += 1
            self._after_listing(entry_id, clock)

        return step

    def _after_listing(self, entry_id: int, clock: FixedClock) -> None:
        spec = self.spec.enforcement
        r = self.rng.random()
        if r < spec.objection_share:
            day = self.working_days_after(clock.today(), self.rng.randint(3, 12))
            self.at(china(day, 10, 30), "objection", self._objection(entry_id))
        elif r < spec.objection_share + spec.removal_share:
            day = clock.today() + timedelta(days=self.rng.randint(*spec.removal_after_days))
            self.at(
                china(self.working_day_on_or_after(day), 11), "removal", self._removal(entry_id)
            )

    def _objection(self, entry_id: int) -> Step:
        def step(clock: FixedClock) -> None:
            with transaction(self.engine) as session:
                reviewer = self._user(session, REVIEWER)
                decisions.file_objection(
                    session,
                    entry_id,
                    es.ObjectionCreate(
                        filed_on=clock.today(),
                        grounds="企业称检查当日负责人外出，实际仍在登记住所经营，附租赁合同",
                    ),
                    user=reviewer,
                    clock=clock,
                    book=self.book,
                    calendar=self.calendar,
                )
            self.log.counts["objections"] += 1
            day = self.working_days_after(clock.today(), self.rng.randint(5, 15))
            upheld = self.rng.random() < self.spec.enforcement.objection_upheld_share
            self.at(china(day, 15), "objection decided", self._objection_outcome(entry_id, upheld))

        return step

    def _objection_outcome(self, entry_id: int, upheld: bool) -> Step:
        def step(clock: FixedClock) -> None:
            with transaction(self.engine) as session:
                reviewer = self._user(session, REVIEWER)
                decisions.decide_objection(
                    session,
                    entry_id,
                    es.ObjectionDecisionCreate(
                        outcome="upheld" if upheld else "dismissed",
                        reason=(
                            "经复核，企业在登记住所正常经营，原列入依据不足"
                            if upheld
                            else "经复核，企业提交的材料不能证明在登记住所经营"
                        ),
                    ),
                    user=reviewer,
                    clock=clock,
                    book=self.book,
                    calendar=self.calendar,
                )
            self.log.counts["objections_upheld" if upheld else "objections_dismissed"] += 1

        return step

    def _removal(self, entry_id: int) -> Step:
        def step(clock: FixedClock) -> None:
            with transaction(self.engine) as session:
                reviewer = self._user(session, REVIEWER)
                entry = decisions.get_entry(session, entry_id)
                if entry.state != EntryState.listed:
                    return
                kinds = self.book.regime(entry.rulebook).reason(entry.reason_code).removal_evidence
                n = self.log.counts["removed"] + 1
                decisions.remove(
                    session,
                    entry_id,
                    es.RemovalCreate(
                        applied_on=clock.today() - timedelta(days=3),
                        verified_on=clock.today() - timedelta(days=1),
                        decision_no=f"昌市监异移〔{clock.today().year}〕{n}号",
                        reason="企业已更正，经核实符合移出条件",
                        evidence=[
                            es.CorrectionEvidence(kind=kinds[-1], reference=f"核查记录第{n}号")
                        ],
                    ),
                    user=reviewer,
                    clock=clock,
                    book=self.book,
                    calendar=self.calendar,
                )
            self.log.counts["removed"] += 1

        return step

    # -- the annual reports: the export of 1 July, the July run, the bulk decision --

    def annual_reports_export(self, work: Path, day: date) -> Step:
        def step(clock: FixedClock) -> None:
            path = work / f"entities-{day.isoformat()}.csv"
            filed = add_reports_filed(
                work / ENTITIES_FILE,
                path,
                self.year - 1,
                self.spec.enforcement.report_filing,
                self.rng,
            )
            with transaction(self.engine) as session, path.open("rb") as source:
                import_entities(
                    session, source, filename=path.name, actor="registration-export", clock=clock
                )
            self.log.counts["reports_filed"] += filed
            self.progress(f"{clock.today()}  登记系统导出：{filed} 户已报送{self.year - 1}年度报告")

        return step

    def _after_annual_proposals(self, clock: FixedClock) -> None:
        with Session(self.reader) as session:
            due = session.exec(
                select(ListEntry.decide_by)
                .where(ListEntry.state == EntryState.proposed, ListEntry.source == "annual_report")
                .order_by(col(ListEntry.decide_by))
            ).first()
        if due is not None:
            day = self.working_days_after(clock.today(), 5)
            self.at(china(min(day, due), 10), "annual listing", self._annual_listing)

    def _annual_listing(self, clock: FixedClock) -> None:
        """The July decision for every proposal of the year's run, in one act (all by the
        reviewer; entities registered by another authority are left to it)."""
        with transaction(self.engine) as session:
            reviewer = self._user(session, REVIEWER)
            ids = session.exec(
                select(ListEntry.id).where(
                    ListEntry.state == EntryState.proposed,
                    ListEntry.source == "annual_report",
                    ListEntry.list_kind == ListKind.abnormal,
                )
            ).all()
            decided = 0
            for i in range(0, len(ids), 20_000):
                out = decisions.decide_many(
                    session,
                    es.BulkDecisionCreate(
                        entry_ids=ids[i : i + 20_000],
                        decision="list",
                        reason=f"未按规定期限公示{self.year - 1}年度报告",
                        skip_refused=True,
                    ),
                    user=reviewer,
                    clock=clock,
                    book=self.book,
                )
                decided += len(out.decided)
        self.log.counts["listed_annual"] += decided
        self.progress(f"{clock.today()}  年报列入决定：{decided} 户")

    # -- zombie candidates, handled at the bureau's pace --

    def zombie_review(self, clock: FixedClock) -> None:
        lo, hi = self.spec.enforcement.zombie_reviews_per_week
        n = self.rng.randint(lo, hi)
        with transaction(self.engine) as session:
            reviewer = self._user(session, REVIEWER)
            rows = session.exec(
                select(EnforcementCandidate.id)
                .where(
                    EnforcementCandidate.state == "open",
                    EnforcementCandidate.kind == "zombie",
                )
                .order_by(EnforcementCandidate.found_on, EnforcementCandidate.id)
                .limit(n)
            ).all()
            for cid in rows:
                decision = self.rng.choices(
                    ["revocation_proposal", "wake_up", "dismissed"], [70, 22, 8]
                )[0]
                zombies.decide_candidate(
                    session,
                    cid,
                    es.CandidateDecisionCreate(
                        decision=decision,
                        note={
                            "revocation_proposal": "经核查确已停止经营，提请吊销营业执照",
                            "wake_up": "经约谈，企业已补报年报并恢复经营",
                            "dismissed": "经核查企业正常经营，排除",
                        }[decision],
                    ),
                    user=reviewer,
                    clock=clock,
                )
        self.log.counts["zombies"] += len(rows)


def _batch_input(session: Session, batch: Batch) -> dict[str, Any]:
    """A batch's settings as the planner's form holds them (to revise them)."""
    return {
        "code": batch.code,
        "name": batch.name,
        "initiating_department": batch.initiating_department,
        "participating_departments": [d for d in batch.participating_departments.split(",") if d],
        "item_codes": service.batch_items(session, batch),
        "filters": json.loads(batch.filters_json),
        "exclusion": json.loads(batch.exclusion_json),
        "quotas": json.loads(batch.quota_spec_json),
        "team": json.loads(batch.team_json),
        "cross_unit": batch.cross_unit,
        "max_load": batch.max_load,
        "window_start": batch.window_start,
        "window_end": batch.window_end,
        "ceremony_place": batch.ceremony_place,
    }


def _task(session: Session, code: str, uscc: str) -> Task:
    batch = service.get_batch(session, code)
    return session.exec(select(Task).where(Task.batch_id == batch.id, Task.uscc == uscc)).one()


def _members(session: Session, task_id: int) -> list[str]:
    return list(
        session.exec(
            select(TaskMember.badge_no)
            .where(TaskMember.task_id == task_id, TaskMember.active == True)  # noqa: E712
            .order_by(TaskMember.position)
        ).all()
    )


def add_reports_filed(
    source: Path, out: Path, year: int, filing: dict[str, float], rng: Random
) -> int:
    """The registration office's next export: the same entities, with the reports for `year`
    filed by 30 June (by entity type; those already behind rarely catch up)."""
    type_of = {label: value for label, value in ENTITY_TYPE_VALUES.items() if not label.isascii()}
    status_of = {
        label: value for label, value in ENTITY_STATUS_VALUES.items() if not label.isascii()
    }
    reporting = (EntityStatus.active, EntityStatus.suspended)
    filed = 0
    with (
        source.open(encoding="utf-8-sig", newline="") as f,
        out.open("w", encoding="utf-8-sig", newline="") as g,
    ):
        reader = csv.reader(f)
        writer = csv.writer(g, lineterminator="\r\n")
        header = next(reader)
        writer.writerow(header)
        # The generator writes the columns in the catalogue's order (`write_entities_csv`).
        at = {name: n for n, name in enumerate(ENTITY_COLUMNS)}
        kind_at, status_at = at["entity_type"], at["status"]
        years_at, established_at = at["annual_report_years"], at["established_on"]
        for row in reader:
            years = [y for y in row[years_at].split(",") if y]
            if (
                status_of.get(row[status_at]) in reporting
                and row[established_at] <= f"{year}-12-31"
            ):
                up_to_date = not years or int(years[-1]) >= year - 1
                share = filing[str(type_of[row[kind_at]])] if up_to_date else filing["behind"]
                if rng.random() < share:
                    years.append(str(year))
                    filed += 1
            row[years_at] = ",".join(years)
            writer.writerow(row)
    return filed


# ---- the whole year, from an empty database ---------------------------------------------------


def year_end(year: int, today: date) -> date:
    """The last day lived: the year's end, or today for the year under way."""
    return min(date(year, 12, 31), today)


def live_year(
    engine: Engine,
    settings: Settings,
    *,
    year: int,
    until: date,
    entities: int | None = None,
    inspectors: int | None = None,
    seed: int = 2018,
    progress: Callable[[str], None] | None = None,
    stop_at: datetime | None = None,
) -> dict[str, Any]:
    """Build the city as it stood on the eve of `year` (of the year file's size unless
    given), then live the year up to `until`."""
    import tempfile

    from supervision.demo.accounts import create_demo_accounts

    say = progress or (lambda _line: None)
    spec = load_year(settings.data_dir)
    entities = entities or spec.city.entities
    inspectors = inspectors or spec.city.inspectors
    eve = FixedClock(china(date(year - 1, 12, 31), 18).astimezone(UTC))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        say(
            f"{eve.today()}  建立演示城市：{entities} 户市场主体、{inspectors} 名执法人员（经登记系统导出文件导入）"
        )
        with transaction(engine) as session:
            counts = build_demo_city(
                session,
                settings.data_dir,
                work,
                entities=entities,
                inspectors=inspectors,
                seed=seed,
                clock=eve,
            )
            create_demo_accounts(session, eve, every_inspector=True)
        lived = Year(
            engine,
            settings,
            spec,
            year=year,
            seed=seed,
            until=until,
            work=work,
            progress=say,
            stop_at=stop_at,
        ).run()
    with Session(engine.execution_options(sqlite_read=True)) as session:
        figures = year_summary(session, year, until)
    return {
        "city": counts,
        "log": dict(lived.counts),
        "refused": lived.refused,
        **dataclasses.asdict(figures),
    }


@dataclass(frozen=True)
class BundleCheck:
    batch: str
    copy: str  # public / auditor
    ok: bool
    verdict: str  # what verify.py printed


def check_bundles(engine: Engine, settings: Settings, year: int) -> list[BundleCheck]:
    """Every drawn batch of the year's plan, checked as outsiders check it: the public
    bundle.zip and the auditor's copy are written, unpacked, and their own `verify.py` run in
    a separate Python process on them."""
    import subprocess
    import sys
    import tempfile
    import zipfile

    from supervision.planning.models import Draw, Plan
    from supervision.planning.queries import write_bundle_zip

    reader = engine.execution_options(sqlite_read=True)
    with Session(reader) as session:
        codes = session.exec(
            select(Batch.code)
            .join(Plan, col(Plan.id) == Batch.plan_id)
            .join(Draw, col(Draw.batch_id) == Batch.id)
            .where(Plan.year == year)
            .order_by(Batch.code)
        ).all()
    out: list[BundleCheck] = []
    for code in codes:
        for copy in ("public", "auditor"):
            with tempfile.TemporaryDirectory() as tmp:
                archive = Path(tmp) / "bundle.zip"
                with Session(reader) as session, archive.open("wb") as f:
                    write_bundle_zip(
                        session, code, f, storage=settings.storage_dir, auditor=copy == "auditor"
                    )
                with zipfile.ZipFile(archive) as z:
                    z.extractall(tmp)
                run = subprocess.run(  # noqa: S603 — our own verifier, on our own files
                    [sys.executable, "-I", str(Path(tmp) / "verify.py"), str(Path(tmp) / code)],
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                verdict = run.stdout.strip() or run.stderr.strip()
                out.append(BundleCheck(code, copy, run.returncode == 0, verdict))
    return out
