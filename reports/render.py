"""Render HTML templates to PDF with WeasyPrint. One page style for every document."""

from collections.abc import Callable
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


def render_pdf_chunked(
    template: str,
    *,
    chunk_key: str,
    chunk_size: int,
    progress: Callable[[int, int], None] | None = None,
    **context: Any,
) -> bytes:
    """A document made of many independent parts (one notice per business) laid out
    ``chunk_size`` parts at a time and joined into one PDF: layout stays linear in the
    number of parts, and ``progress(done, total)`` can follow it. The parts must not need
    page numbers running across them."""
    from weasyprint import HTML

    parts = context[chunk_key]
    tpl = _env.get_template(template)
    documents = []
    for start in range(0, max(len(parts), 1), chunk_size):
        html = tpl.render(**{**context, chunk_key: parts[start : start + chunk_size]})
        documents.append(HTML(string=html, base_url=str(TEMPLATES)).render())
        if progress:
            progress(min(start + chunk_size, len(parts)), len(parts))
    pages = [page for doc in documents for page in doc.pages]
    return documents[0].copy(pages).write_pdf()
