"""The hash-chained audit log: one row per change, each hashing its predecessor."""

from datetime import date, datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=32)
    object_key: str = Field(max_length=64, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    # Unique: two transactions extending the chain from the same row cannot both commit.
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)


class AuditAnchor(SQLModel, table=True):
    """The chain's head as published on a day (the portal's 审计锚点 page, the feed, every
    bundle's `meta`): anyone who kept it can later prove that the log held this row with
    this hash — truncating or rewriting the log after it no longer goes unseen."""

    __tablename__ = "audit_anchor"
    id: int | None = Field(default=None, primary_key=True)
    anchored_on: date = Field(unique=True)
    entry_id: int
    entries: int  # rows in the chain up to and including entry_id
    hash: str = Field(max_length=64)
    published_at: datetime


# What each audited action is called on the pages (an action not listed shows its code).
ACTION_LABELS = {
    "account.create": "新建账号",
    "account.update": "修改账号",
    "account.password_change": "本人修改密码",
    "account.password_reset": "管理员重置密码",
    "reference.load": "载入参考数据",
    "registry.department.create": "新增部门",
    "registry.unit.create": "新增单位",
    "registry.entity.create": "新增市场主体",
    "registry.entity.update": "修改市场主体",
    "registry.inspector.create": "新增执法检查人员",
    "registry.inspector.update": "修改执法检查人员",
    "registry.item.create": "新增抽查事项",
    "registry.item.update": "修改抽查事项",
    "registry.conflict.declare": "申报回避关系",
    "registry.conflict.end": "结束回避关系",
    "registry.import_entities": "批量导入市场主体",
    "registry.import_inspectors": "批量导入执法检查人员",
    "registry.import_tax_filings": "导入纳税申报信息",
    "planning.plan.create": "新建年度计划",
    "planning.plan.publish": "公示年度计划",
    "planning.plan.change": "调整年度计划",
    "planning.batch.create": "新建抽查批次",
    "documents.number.issue": "编发文号",
    "planning.batch.revise": "修改抽查批次",
    "planning.batch.freeze": "冻结并公示承诺",
    "planning.batch.withdraw_commitment": "撤回承诺",
    "planning.batch.draw": "录入熵值并抽取",
    "planning.draw.recuse": "检查人员回避",
    "planning.draw.replace_entity": "撤出检查对象（备选递补）",
    "inspection.result.draft": "保存检查结果草稿",
    "inspection.evidence.upload": "上传检查证据",
    "inspection.result.submit": "提交检查结果",
    "inspection.result.approve": "审核通过检查结果",
    "inspection.result.return": "退回检查结果",
    "inspection.result.publish": "公示检查结果",
    "inspection.batch.publish": "公示批次检查结果",
    "inspection.result.correct": "更正检查结果",
    "enforcement.propose": "提出列入建议",
    "enforcement.propose.results": "依检查结果提出列入建议",
    "enforcement.propose.annual_reports": "依未报年报提出列入建议",
    "enforcement.decide.list": "作出列入决定",
    "enforcement.decide.reject": "不予列入",
    "enforcement.decide_bulk.list": "批量列入（汇总）",
    "enforcement.decide_bulk.reject": "批量不予列入（汇总）",
    "enforcement.objection.file": "登记异议",
    "enforcement.objection.accept": "受理异议",
    "enforcement.order": "书面责令限期公示即时信息",
    "enforcement.approval.grant": "上一级同意列入严重违法失信名单",
    "enforcement.approval.refuse": "上一级不同意列入严重违法失信名单",
    "enforcement.objection.refuse": "不予受理异议",
    "calendar.announce": "录入年度放假安排",
    "calendar.recount": "按公布的放假安排重算期限",
    "enforcement.objection.upheld": "异议成立",
    "enforcement.objection.dismissed": "异议不成立",
    "enforcement.remove": "移出名录",
    "enforcement.escalate": "列入严重违法失信名单",
    "enforcement.expire": "期满移出",
    "enforcement.candidates.zombie": "识别僵尸企业候选",
    "enforcement.candidates.zombie_not_opened": "识别未开业僵尸企业候选",
    "enforcement.candidates.zombie_ceased_trading": "识别歇业僵尸企业候选",
    "enforcement.candidates.deregistration": "识别强制注销候选",
    "enforcement.candidates.revocation": "识别吊销候选",
    "enforcement.candidate.decide": "处置候选",
}

# What each audited object type is called on the pages, and the few object keys that are codes
# themselves (a finding, not an identifier) with their names.
OBJECT_LABELS = {
    "batch": "批次",
    "plan": "计划",
    "task": "检查任务",
    "list_entry": "名录记录",
    "candidate": "候选",
    "user": "账号",
    "entity": "市场主体",
    "inspector": "执法检查人员",
    "conflict": "回避关系",
    "import": "导入",
    "reference_data": "参考数据",
    "calendar": "工作日历",
    "result_version": "检查结果版本",
    "document": "文书",
}
OBJECT_KEY_LABELS = {
    ("candidate", "revoked"): "被吊销、责令关闭或撤销满三年",
    ("candidate", "ceased"): "自行停业",
}
