"""Render HTML templates to PDF with WeasyPrint. One page style for every document."""

from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from supervision.clock import CHINA_TZ

TEMPLATES = Path(__file__).resolve().parent / "templates"


def cn_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = value.astimezone(CHINA_TZ)
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return f"{value.year}年{value.month}月{value.day}日"


def hash_groups(value: str, size: int = 8) -> str:
    return " ".join(value[i : i + size] for i in range(0, len(value), size))


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
_env.filters["cn_date"] = cn_date
_env.filters["hash_groups"] = hash_groups


def render_pdf(template: str, **context: Any) -> bytes:
    from weasyprint import HTML

    html = _env.get_template(template).render(**context)
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
