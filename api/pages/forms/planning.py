"""Form mapping of the planning pages: form fields ↔ the API's request schemas (PlanCreate,
BatchCreate), validated by those same schemas, with messages in Chinese."""

from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from api.pages.render import (
    form_errors,
    form_text,
)
from supervision.clock import CHINA_TZ, as_utc
from supervision.planning import schemas as ps
from supervision.planning import service

SLOT_ROWS = 3
RISK_CLASSES = service.RISK_CLASSES


PLAN_LABELS = {
    "code": "计划编号",
    "year": "年度",
    "name": "计划名称",
    "authority": "制定机关",
    "filed_with": "备案机关",
    "description": "调整说明",
}


# ---- the batch form ------------------------------------------------------------------------

BATCH_LABELS = {
    "plan_code": "所属计划",
    "code": "批次编号",
    "name": "批次名称",
    "initiating_department": "发起部门",
    "participating_departments": "配合部门",
    "item_codes": "抽查事项",
    "quotas": "分层抽取设置",
    "team": "检查组名额",
    "cross_unit": "所所交叉",
    "max_load": "每人最多检查户数",
    "window_start": "检查开始日期",
    "window_end": "检查结束日期",
    "entropy_plan": "熵来源公告",
    "ceremony_at": "抽取仪式时间",
    "ceremony_place": "抽取仪式地点",
    "entropy_source": "熵来源",
    "beacon_chain": "信标链",
    "freeze_at": "定时冻结时间",
    "exclusion": "避免重复检查",
    "same_item_months": "同一事项不重复检查的月数",
}
SLOT_FIELD_LABELS = {"group": "部门", "count": "人数", "qualification": "资格代码"}
QUOTA_FIELD_LABELS = {"percent": "抽取比例", "count": "抽取数量"}
# Whole-field messages that read better than the generic ones.
BATCH_MESSAGES = {
    ("team", "too_short"): "请至少设置一行检查组名额（部门和人数）",
    ("item_codes", "too_short"): "请至少选择一个抽查事项",
    ("quotas", "too_short"): "请至少为一个信用风险分类填写抽取比例或数量",
}


def _batch_label(loc: tuple[Any, ...]) -> str:
    if len(loc) >= 3 and loc[0] == "quotas":
        return f"{loc[1]}类的{QUOTA_FIELD_LABELS.get(str(loc[2]), '设置')}"
    if len(loc) >= 3 and loc[0] == "team" and isinstance(loc[1], int):
        return f"检查组第{loc[1] + 1}行的{SLOT_FIELD_LABELS.get(str(loc[2]), '设置')}"
    if len(loc) >= 2 and loc[0] == "exclusion":
        return BATCH_LABELS.get(str(loc[1]), BATCH_LABELS["exclusion"])
    return BATCH_LABELS.get(str(loc[0]), str(loc[0])) if loc else ""


def empty_batch_values(plan_code: str = "") -> dict[str, Any]:
    return {
        "plan_code": plan_code,
        "code": "",
        "name": "",
        "item_codes": [],
        "initiating_department": "",
        "quotas": {k: {"mode": "percent", "value": ""} for k in RISK_CLASSES},
        "slots": [{"group": "", "count": "2", "qualification": ""}]
        + [{"group": "", "count": "", "qualification": ""} for _ in range(SLOT_ROWS - 1)],
        "cross_unit": True,
        "max_load": "",
        "window_start": "",
        "window_end": "",
        "entropy_plan": "",
        "ceremony_at": "",
        "ceremony_place": "",
        "entropy_source": "dice",
        "beacon_chain": "",
        "freeze_at": "",
        "same_item_months": "",
        "low_risk_once_per_year": True,
    }


def pad_slots(slots: list[dict[str, str]]) -> list[dict[str, str]]:
    blank = {"group": "", "count": "", "qualification": ""}
    return slots + [dict(blank) for _ in range(max(0, SLOT_ROWS - len(slots)))]


def batch_form_values(form: FormData) -> dict[str, Any]:
    """What the planner entered, as the form shows it again."""
    groups = form.getlist("slot_group")
    counts = form.getlist("slot_count")
    quals = form.getlist("slot_qualification")
    slots = [
        {"group": str(g).strip(), "count": str(c).strip(), "qualification": str(q).strip()}
        for g, c, q in zip(groups, counts, quals, strict=False)
    ]
    return {
        "plan_code": form_text(form, "plan_code"),
        "code": form_text(form, "code"),
        "name": form_text(form, "name"),
        "item_codes": [str(c) for c in form.getlist("item_codes")],
        "initiating_department": form_text(form, "initiating_department"),
        "quotas": {
            k: {
                "mode": "count" if form_text(form, f"quota_mode_{k}") == "count" else "percent",
                "value": form_text(form, f"quota_value_{k}"),
            }
            for k in RISK_CLASSES
        },
        "slots": pad_slots(slots),
        "cross_unit": form.get("cross_unit") == "yes",
        "max_load": form_text(form, "max_load"),
        "window_start": form_text(form, "window_start"),
        "window_end": form_text(form, "window_end"),
        "entropy_plan": form_text(form, "entropy_plan"),
        "ceremony_at": form_text(form, "ceremony_at"),
        "ceremony_place": form_text(form, "ceremony_place"),
        "entropy_source": form_text(form, "entropy_source") or "dice",
        "beacon_chain": form_text(form, "beacon_chain"),
        "freeze_at": form_text(form, "freeze_at"),
        "same_item_months": form_text(form, "same_item_months"),
        "low_risk_once_per_year": form.get("low_risk_once_per_year") == "yes",
    }


def batch_payload(values: dict[str, Any]) -> dict[str, Any]:
    """The BatchCreate body: blank quota rows and blank team rows are left out."""
    quotas = {}
    for k, q in values["quotas"].items():
        value = q["value"].removesuffix("%").strip()
        if value:
            quotas[k] = {q["mode"]: value}
    team = []
    for slot in values["slots"]:
        if not (slot["group"] or slot["qualification"]):
            continue
        row: dict[str, Any] = {
            "group": slot["group"],
            "qualification": slot["qualification"] or None,
        }
        if slot["count"]:
            row["count"] = slot["count"]
        team.append(row)
    groups = {s["group"] for s in team if s["group"]}
    payload: dict[str, Any] = {
        "code": values["code"],
        "name": values["name"],
        "initiating_department": values["initiating_department"],
        # Joint batches: every other department that fills a team slot takes part.
        "participating_departments": sorted(groups - {values["initiating_department"]}),
        "item_codes": values["item_codes"],
        "quotas": quotas,
        "team": team,
        "cross_unit": values["cross_unit"],
        "max_load": values["max_load"] or None,
        "entropy_plan": values["entropy_plan"],
        "ceremony_place": values["ceremony_place"],
        "entropy_source": values["entropy_source"],
        "beacon_chain": values["beacon_chain"] or None,
        "exclusion": {
            "same_item_months": values["same_item_months"] or None,
            "low_risk_once_per_year": values["low_risk_once_per_year"],
        },
    }
    for key in ("window_start", "window_end", "ceremony_at", "freeze_at"):
        if values[key]:
            payload[key] = values[key]
    return payload


def local_input(at: Any) -> str:
    """A stored moment as a datetime-local input shows it (Beijing time, to the minute)."""
    if at is None:
        return ""
    return as_utc(at).astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")


def parse_batch(values: dict[str, Any]) -> tuple[ps.BatchCreate | None, list[str], dict]:
    try:
        return ps.BatchCreate.model_validate(batch_payload(values)), [], {}
    except ValidationError as exc:
        messages, by_field = form_errors(exc, _batch_label, BATCH_MESSAGES)
        return None, messages, by_field
