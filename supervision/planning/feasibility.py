"""Before freezing: does every stratum have its quota, every slot enough eligible inspectors?"""

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from supervision.errors import Invalid
from supervision.planning import pool as pool_q
from supervision.planning.models import (
    Batch,
)
from supervision.planning.service import quotas_for, team_groups, team_slots
from supervision.registry.queries import department_names
from supervision.registry.reference import load_qualifications
from supervision.settings import get_settings

# ---- feasibility ---------------------------------------------------------------------------


@dataclass
class Feasibility:
    strata: dict[str, dict[str, int]]
    slots: list[dict[str, Any]]
    problems: list[dict[str, str]]  # refuse freezing
    warnings: list[dict[str, str]]  # shown to the planner, freezing allowed

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unassigned(self) -> int:
        """About how many drawn entities could get no full team (0: every one can)."""
        return sum(int(w.get("count", 0)) for w in self.warnings if w.get("kind") == "unassigned")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "strata": self.strata,
            "slots": self.slots,
            "problems": self.problems,
            "warnings": self.warnings,
            "unassigned": self.unassigned,
        }


def check_feasibility(session: Session, batch: Batch) -> Feasibility:
    """Before freezing: pool and quotas per stratum, and whether full teams can be formed."""
    sizes, units = pool_q.pool_sizes(session, batch)
    problems: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    try:
        quotas = quotas_for(batch, sizes)
    except Invalid as e:
        problems.append({"zh": e.zh, "en": e.en})
        quotas = {}
    strata = {
        label: {"size": n, "quota": quotas.get(label, 0)} for label, n in sorted(sizes.items())
    }
    selected = sum(quotas.values())
    if not sizes:
        problems.append({"zh": "抽查范围内没有符合条件的市场主体", "en": "the pool is empty"})
    elif selected == 0:
        problems.append({"zh": "各分层抽取数量均为0", "en": "every quota is zero"})
    roster = pool_q.roster_records(session, batch, team_groups(batch))
    departments = department_names(session)
    qualification_labels = {
        code: q.label for code, q in load_qualifications(get_settings().data_dir).items()
    }
    slots: list[dict[str, Any]] = []
    for n, slot in enumerate(team_slots(batch)):
        eligible = [
            r
            for r in roster
            if r[1] == slot["group"]
            and (slot["qualification"] is None or slot["qualification"] in r[3].split(","))
        ]
        group = departments.get(slot["group"], slot["group"])
        qual = slot["qualification"]
        label = f"第{n + 1}组（{group}×{slot['count']}" + (
            f"，须具备{qualification_labels.get(qual, qual)}资格）" if qual else "）"
        )
        info = {"slot": n + 1, **slot, "eligible": len(eligible)}
        slots.append(info)
        if len(eligible) < slot["count"]:
            problems.append(
                {
                    "zh": f"{label}仅有{len(eligible)}名符合条件的执法人员，无法组队",
                    "en": f"slot {n + 1} has {len(eligible)} eligible inspectors, needs {slot['count']}",
                }
            )
            continue
        if batch.cross_unit:
            short = {
                u: k
                for u, k in units.items()
                if sum(1 for r in eligible if r[2] != u) < slot["count"]
            }
            if short:
                affected = sum(short.values())
                warnings.append(
                    {
                        "kind": "unassigned",
                        "count": str(affected),
                        "zh": f"{label}：所所交叉规则下，{len(short)}个单位的{affected}户主体"
                        f"无足够的外单位执法人员，抽中后将无法组队。可增加其他单位符合条件的人员，"
                        "或关闭所所交叉规则",
                        "en": f"slot {n + 1}: {affected} entities in {len(short)} units lack "
                        "eligible inspectors from other units",
                    }
                )
        if batch.max_load is not None:
            capacity = len(eligible) * batch.max_load
            needed = selected * slot["count"]
            info["capacity"] = capacity
            if needed > capacity:
                warnings.append(
                    {
                        "kind": "unassigned",
                        "count": str(-(-(needed - capacity) // slot["count"])),
                        "zh": f"{label}：需要{needed}人次，但每人上限{batch.max_load}户，"
                        f"最多{capacity}人次，约{-(-(needed - capacity) // slot['count'])}户将无法组队。"
                        "可提高每人上限、增加人员或降低抽取比例",
                        "en": f"slot {n + 1}: {needed} places needed, capacity {capacity}",
                    }
                )
    conflicts = pool_q.conflict_records(session, batch, team_groups(batch))
    if conflicts:
        warnings.append(
            {
                "zh": f"回避声明{len(conflicts)}条已纳入抽取（仅公开其摘要）",
                "en": f"{len(conflicts)} declared conflicts apply (only their digest is published)",
            }
        )
    return Feasibility(strata, slots, problems, warnings)
