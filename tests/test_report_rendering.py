"""The document renderer's own rules: long registers in fixed columns (nothing cut), and a
document of many parts laid out in worker processes and joined in order."""

from datetime import date

from reports.render import display_width, register_lines, render_pdf_chunked
from tests import pdfcheck


def _columns(line: str, start: int, end: int) -> str:
    """The characters of ``line`` between display columns start and end."""
    out, col = "", 0
    for ch in line:
        if start <= col < end:
            out += ch
        col += display_width(ch)
    return out


def test_register_lines_wrap_by_display_width_and_never_cut() -> None:
    name = "新疆昌吉天山北庭丝路雪莲葡萄干果蜂蜜红枣番茄辣椒农民专业合作社联合社"
    row = [1, "91652301MA7000001X", name, ["张三（65230100001）组长", "李四"]]
    lines = register_lines([row], [4, 18, 20, 24])
    assert len(lines) == 4  # 37 characters of 2 columns in a 20-column cell: 4 lines
    # Every character of the name, in order, in its column — nothing cut.
    assert "".join(_columns(line, 26, 46).strip() for line in lines) == name
    assert all(display_width(_columns(line, 26, 46)) <= 20 for line in lines)
    assert _columns(lines[0], 0, 4).strip() == "1" and lines[0][6:24] == row[1]
    assert "张三（65230100001）组长" in lines[0] and "李四" in lines[1]


class _Batch:
    code = "CJ-2026-X"
    name = "测试批次"
    directed = False
    window_start = date(2026, 9, 1)
    window_end = date(2026, 9, 30)


def test_a_long_document_is_laid_out_in_parallel_and_joined_in_order() -> None:
    notices = [
        {
            "uscc": f"91652301MA7{i:06d}X",
            "name": f"并行测试{i}号商行",
            "task_no": i,
            "team": [{"name": "检查员", "badge_no": "65230100001"}],
            "checks": [
                {"name": "企业公示信息检查", "methods": "书面检查", "materials": "营业执照"}
            ],
            "docno": f"昌市监抽通〔2026〕{i}号",
        }
        for i in range(1, 6)
    ]
    seen = []
    pdf = render_pdf_chunked(
        "notices.html",
        chunk_key="notices",
        chunk_size=1,  # five parts: the worker-process path
        progress=lambda done, total: seen.append((done, total)),
        batch=_Batch,
        notices=notices,
        duty="应当配合检查。",
        contact="电话",
        authority="昌吉市市场监督管理局",
        docno="",
        issued_on=date(2026, 12, 7),
    )
    pdfcheck.check_fonts(pdf)
    assert pdfcheck.pages(pdf) == 5
    text = pdfcheck.text(pdf)
    positions = [text.index(f"并行测试{i}号商行") for i in range(1, 6)]
    assert positions == sorted(positions)  # in the order given, whatever finished first
    assert text.count("—1—") == 5
    assert seen[-1] == (5, 5) and len(seen) == 5
