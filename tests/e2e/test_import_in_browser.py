"""A clerk loads a registration system's export through the import page in a real browser:
no unit column, a default unit chosen, the report read; then a bad file's full error report
downloaded."""

import csv
import io

import pytest

from tests.e2e.conftest import PLANNER, Server
from tests.uscc_reference import uscc

pytestmark = pytest.mark.e2e

HEADER = [
    "统一社会信用代码",
    "企业名称",
    "类型",
    "法定代表人",
    "住所",
    "成立日期",
    "登记机关",
    "登记状态",
    "行政区划",
    "行业代码",
]


def _export(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["市场主体登记信息导出"])
    w.writerow(HEADER)
    w.writerows(rows)
    return out.getvalue().encode("gb18030")


def _row(n: int, address: str, established: str = "2021/3/4") -> list[str]:
    return [
        uscc("652301", f"MC{n:06d}"),
        f"昌吉市浏览器导入{n}号商贸有限公司",
        "有限责任公司（自然人投资或控股）",
        "赵六",
        address,
        established,
        "昌吉市市场监督管理局",
        "存续",
        "652301",
        "F5211",
    ]


def test_clerk_loads_an_export_and_downloads_an_error_report(
    server: Server, chromium, screenshots, tmp_path
) -> None:
    good = tmp_path / "登记导出.csv"
    good.write_bytes(_export([_row(1, "昌吉市宁边西路9号"), _row(2, "昌吉市某小区")]))
    bad = tmp_path / "有错的导出.csv"
    bad.write_bytes(_export([_row(n, "昌吉市宁边西路", "2021-02-30") for n in range(3, 8)]))

    page = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("用户名").fill(PLANNER[0])
    page.get_by_label("密码").fill(PLANNER[1])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server.url}/staff")
    page.goto(f"{server.url}/staff/import")

    page.get_by_role("radio", name="市场主体").check()
    page.get_by_label("默认管辖单位", exact=False).select_option("652301-02")
    page.locator("#file").set_input_files(str(good))
    page.get_by_role("button", name="上传并导入").click()
    page.get_by_text("导入成功，已写入。").wait_for()
    report = page.inner_text("main")
    assert "由住所中的乡镇、街道或道路推断 1 户" in report and "使用默认单位 1 户" in report
    assert "第 2 行（其上的标题、说明行已跳过）" in report
    screenshots(page, "import-report")

    page.get_by_role("radio", name="市场主体").check()
    page.locator("#file").set_input_files(str(bad))
    page.get_by_role("button", name="上传并导入").click()
    page.get_by_text("未写入任何数据", exact=False).first.wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载完整错误报告", exact=False).click()
    saved = tmp_path / "errors.csv"
    download.value.save_as(saved)
    lines = list(csv.reader(io.StringIO(saved.read_bytes().decode("utf-8-sig"))))
    assert len(lines) == 6 and all(line[1] == "成立日期" for line in lines[1:])
    assert [line[0] for line in lines[1:]] == ["3", "4", "5", "6", "7"]
    screenshots(page, "import-errors")
