"""Column names of registry import files, as registration offices export them.

Each canonical field accepts its English name and the Chinese headers seen in real exports.
The demo generator writes the first Chinese header of each field, so demo files look like a
registration office's export and go through the same import path.
"""

ENTITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "uscc": ("统一社会信用代码", "信用代码", "uscc"),
    "name": ("企业名称", "主体名称", "名称", "name"),
    "entity_type": ("主体类型", "市场主体类型", "entity_type"),
    "legal_rep": ("法定代表人", "法定代表人/负责人", "负责人", "经营者", "legal_rep"),
    "legal_rep_id_no": ("法定代表人证件号码", "证件号码", "legal_rep_id_no"),
    "phone": ("联系电话", "电话", "phone"),
    "registered_address": ("住所", "注册地址", "registered_address"),
    "business_address": ("经营场所", "实际经营地址", "business_address"),
    "region_code": ("行政区划代码", "区划代码", "region_code"),
    "industry_code": ("行业代码", "国民经济行业代码", "industry_code"),
    "registration_authority": ("登记机关", "registration_authority"),
    "supervising_unit": ("管辖单位代码", "管辖单位", "supervising_unit"),
    "established_on": ("成立日期", "established_on"),
    "status": ("登记状态", "经营状态", "status"),
    "opened_on": ("开业日期", "opened_on"),
    "ceased_trading_on": ("自行停业日期", "自行停业起始日期", "停业日期", "ceased_trading_on"),
    "revoked_on": ("吊销日期", "吊销营业执照日期", "吊销时间", "revoked_on"),
    "risk_class": ("信用风险分类", "风险分类", "risk_class"),
    "annual_report_years": ("已报年报年度", "年报年度", "annual_report_years"),
}
ENTITY_REQUIRED = (
    "uscc",
    "name",
    "entity_type",
    "legal_rep",
    "registered_address",
    "region_code",
    "industry_code",
    "registration_authority",
    "supervising_unit",
    "established_on",
)

INSPECTOR_COLUMNS: dict[str, tuple[str, ...]] = {
    "badge_no": ("执法证号", "执法证件号", "badge_no"),
    "name": ("姓名", "name"),
    "department_code": ("部门代码", "所属部门", "department_code"),
    "unit_code": ("单位代码", "所属单位", "unit_code"),
    "qualifications": ("执法资格", "专业领域", "qualifications"),
    "active": ("在岗", "是否在岗", "active"),
    "is_expert": ("专家", "是否专家", "is_expert"),
    "cert_valid_until": ("证件有效期至", "有效期至", "cert_valid_until"),
    "phone": ("联系电话", "电话", "phone"),
}
INSPECTOR_REQUIRED = ("badge_no", "name", "department_code", "unit_code")

# Tax filings as the tax office exchanges them (涉税信息交换): one row per entity and year.
# A row needs 是否申报 or 申报日期 (a date means a return was filed).
TAX_FILING_COLUMNS: dict[str, tuple[str, ...]] = {
    "uscc": ("统一社会信用代码", "纳税人识别号", "信用代码", "uscc"),
    "year": ("年度", "所属年度", "税款所属年度", "year"),
    "filed": ("是否申报", "申报情况", "filed"),
    "filed_on": ("申报日期", "filed_on"),
}
TAX_FILING_REQUIRED = ("uscc", "year")

# Values as exports write them → canonical codes.
ENTITY_TYPE_VALUES = {
    "企业": "enterprise",
    "公司": "enterprise",
    "enterprise": "enterprise",
    "个体工商户": "individual",
    "个体": "individual",
    "individual": "individual",
    "农民专业合作社": "cooperative",
    "合作社": "cooperative",
    "cooperative": "cooperative",
}
ENTITY_STATUS_VALUES = {
    "存续": "active",
    "在营": "active",
    "存续（在营、开业、在册）": "active",
    "active": "active",
    "歇业": "suspended",
    "suspended": "suspended",
    "吊销": "revoked",
    "吊销，未注销": "revoked",
    "revoked": "revoked",
    "注销": "deregistered",
    "deregistered": "deregistered",
    "迁出": "moved_out",
    "moved_out": "moved_out",
}
BOOLEAN_VALUES = {
    "是": True,
    "否": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
}
# 是否申报 in tax exports: yes/no, or how the tax office words it. A zero return (零申报) is a
# return.
TAX_FILED_VALUES = {
    **BOOLEAN_VALUES,
    "已申报": True,
    "零申报": True,
    "未申报": False,
}
