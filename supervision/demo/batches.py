"""Demo plan and batches, so a newcomer's first look at the portal shows a real draw.

One published annual plan with two batches: an undirected check of published information,
frozen two days ago, drawn yesterday at its announced ceremony with witnesses' dice, then one
recusal and one withdrawn entity; and a joint catering food-safety check (market regulation +
health), frozen now and waiting for its ceremony in three days. The timelines obey the
ceremony rules (notice before the ceremony, entropy at it): the steps in the past are taken
on a clock set to their moment.
"""

from datetime import datetime, time, timedelta
from pathlib import Path

from sqlmodel import Session, select

from supervision.clock import CHINA_TZ, Clock, FixedClock
from supervision.planning import drawing, events, freeze, service
from supervision.planning import schemas as s
from supervision.planning.ceremony import DEFAULT_RULES, CeremonyRules
from supervision.planning.models import Plan, Task, TaskMember

DEMO_DICE = "3 6 1 4 4 2 5 6 1 1 3 2 6 5 4 4 2 1 3 6"
DEMO_WITNESSES = [
    {"name": "马丽", "role": "昌吉市人大代表"},
    {"name": "王建国", "role": "个体工商户代表"},
]


def build_demo_batches(
    session: Session, *, clock: Clock, storage: Path, rules: CeremonyRules = DEFAULT_RULES
) -> dict[str, str]:
    today = clock.today()
    year = today.year
    plan_code = f"CJ-{year}"
    if session.exec(select(Plan.id).where(Plan.code == plan_code)).first():
        return {"plan": plan_code}  # already there: the demo never redraws
    service.create_plan(
        session,
        s.PlanCreate(
            code=plan_code,
            year=year,
            name=f"昌吉市{year}年度“双随机、一公开”抽查工作计划",
            authority="昌吉市市场监督管理局",
            filed_with="昌吉回族自治州市场监督管理局",
        ),
        actor="demo",
        clock=clock,
    )
    service.publish_plan(session, plan_code, actor="demo", clock=clock)
    start, end = today + timedelta(days=5), today + timedelta(days=40)
    # Yesterday's ceremony at 10:00 Beijing time, announced (frozen) a day and a half before.
    ceremony = datetime.combine(today - timedelta(days=1), time(10, 0), CHINA_TZ)
    announced = FixedClock(ceremony - timedelta(hours=36))
    first = s.BatchCreate(
        code=f"{plan_code}-001",
        name=f"{year}年企业公示信息不定向抽查",
        initiating_department="SCJ",
        item_codes=["SCJ-GS-001"],
        quotas={
            "A": s.StratumQuota(percent="1"),
            "B": s.StratumQuota(percent="3"),
            "C": s.StratumQuota(percent="5"),
            "D": s.StratumQuota(percent="10"),
        },
        team=[s.TeamSlot(group="SCJ", count=2)],
        cross_unit=True,
        max_load=None,
        window_start=start,
        window_end=end,
        ceremony_at=ceremony,
        entropy_plan=f"{ceremony.date().isoformat()} 10:00 于本局一楼随机抽取室由两名见证人当众掷骰子20次",
    )
    service.create_batch(session, plan_code, first, actor="demo", clock=announced, rules=rules)
    freeze.freeze_batch(
        session, first.code, actor="demo", clock=announced, storage=storage, rules=rules
    )
    drawing.enter_entropy(
        session,
        first.code,
        [DEMO_DICE],
        actor="demo",
        clock=FixedClock(ceremony + timedelta(minutes=4)),
        storage=storage,
        witnesses=DEMO_WITNESSES,
        rules=rules,
    )
    _demo_events(
        session, first.code, clock=FixedClock(ceremony + timedelta(hours=3)), storage=storage
    )
    second = s.BatchCreate(
        code=f"{plan_code}-002",
        name=f"{year}年餐饮服务单位食品安全与公共场所卫生联合抽查",
        initiating_department="SCJ",
        participating_departments=["WJW"],
        item_codes=["SCJ-SP-001"],
        filters=s.BatchFilters(industry_codes=["62"]),
        quotas={
            k: s.StratumQuota(percent=p)
            for k, p in {"A": "2", "B": "5", "C": "10", "D": "20"}.items()
        },
        team=[
            s.TeamSlot(group="SCJ", count=2, qualification="food"),
            s.TeamSlot(group="WJW", count=1),
        ],
        cross_unit=True,
        max_load=40,
        window_start=start + timedelta(days=7),
        window_end=end + timedelta(days=14),
        ceremony_at=datetime.combine(today + timedelta(days=3), time(21, 30), CHINA_TZ),
        entropy_source="lottery",
        entropy_plan=f"{(today + timedelta(days=3)).isoformat()} 21:30 于本局随机抽取室录入当晚体育彩票排列5开奖号码，及现场见证人掷骰子",
    )
    service.create_batch(session, plan_code, second, actor="demo", clock=clock, rules=rules)
    freeze.freeze_batch(
        session, second.code, actor="demo", clock=clock, storage=storage, rules=rules
    )
    return {"plan": plan_code, "drawn": first.code, "awaiting_ceremony": second.code}


# The officer's own words stay internal; the public record shows the category only.
DEMO_RECUSAL_NOTE = "该执法人员的配偶在该企业任财务负责人"


def _demo_events(session: Session, code: str, *, clock: Clock, storage: Path) -> None:
    """After the draw, as in any real batch: one recusal and one withdrawn entity."""
    batch = service.get_batch(session, code)
    tasks = session.exec(
        select(Task).where(Task.batch_id == batch.id).order_by(Task.position).limit(2)
    ).all()
    if len(tasks) < 2:
        return
    leader = session.exec(
        select(TaskMember.badge_no)
        .where(TaskMember.task_id == tasks[0].id)
        .order_by(TaskMember.position)
    ).first()
    if leader is not None:
        events.recuse(
            session,
            code,
            tasks[0].uscc,
            leader,
            "回避",
            actor="demo",
            clock=clock,
            storage=storage,
            note=DEMO_RECUSAL_NOTE,
        )
    events.withdraw_entity(
        session, code, tasks[1].uscc, "已注销", actor="demo", clock=clock, storage=storage
    )
