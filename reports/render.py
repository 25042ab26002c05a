"""Render HTML templates to PDF with WeasyPrint. One page style for every document."""

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from supervision.formatting import cn_date, cn_datetime, hash_groups

TEMPLATES = Path(__file__).resolve().parent / "templates"


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
_env.filters.update(cn_date=cn_date, cn_datetime=cn_datetime, hash_groups=hash_groups)


def render_pdf(template: str, **context: Any) -> bytes:
    from weasyprint import HTML

    html = _env.get_template(template).render(**context)
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
