"""Render HTML templates to PDF with WeasyPrint. One page style for every document."""

import io
import multiprocessing
import os
import unicodedata
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from supervision.formatting import cn_date, cn_datetime, hash_groups

TEMPLATES = Path(__file__).resolve().parent / "templates"


def display_width(text: str) -> int:
    """Columns a string takes in a CJK monospace font: East Asian wide and fullwidth
    characters two, the rest one."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrap(text: str, width: int) -> list[str]:
    lines, line, used = [], "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width and line:
            lines.append(line)
            line, used = "", 0
        line += ch
        used += w
    return [*lines, line] if line or not lines else lines


def register_lines(rows: list[list[Any]], widths: list[int], gap: int = 2) -> list[str]:
    """Rows of a long register as lines of fixed columns (printed in a CJK monospace font,
    where the columns line up): each cell wraps within its width onto continuation lines —
    nothing is cut — and a cell may be a list (one entry per line). WeasyPrint lays out a
    table row in ~5 ms; a line of text in a preformatted block in well under 1 ms, which is
    what lets a 30,000-entity draw record print in seconds rather than minutes."""
    out: list[str] = []
    for row in rows:
        cells = []
        for value, width in zip(row, widths, strict=True):
            parts = value if isinstance(value, list) else [value]
            cells.append([seg for part in parts for seg in _wrap(str(part), width)] or [""])
        for i in range(max(len(c) for c in cells)):
            line = ""
            for c, width in zip(cells, widths, strict=True):
                text = c[i] if i < len(c) else ""
                line += text + " " * (width - display_width(text) + gap)
            out.append(line.rstrip())
    return out


def register_header(labels: list[str], widths: list[int]) -> str:
    """The register's column header, spaced with no-break spaces: it is printed at the top of
    every page through a CSS string, where ordinary spaces would collapse."""
    return register_lines([labels], widths)[0].replace(" ", "\u00a0")


def blocks(lines: list[str], size: int = 40) -> list[str]:
    """Lines joined in blocks of ``size`` (a page break falls between blocks or within one)."""
    return ["\n".join(lines[i : i + size]) for i in range(0, len(lines), size)]


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
_env.filters.update(
    cn_date=cn_date, cn_datetime=cn_datetime, hash_groups=hash_groups, blocks=blocks
)


def render_pdf(template: str, **context: Any) -> bytes:
    from weasyprint import HTML

    html = _env.get_template(template).render(**context)
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()


def _html_to_pdf(html: str) -> bytes:
    """One chunk, in a worker process."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()


# Layout is single-threaded Python: a document of many parts is laid out in this many
# processes at once (the machine's cores, at most four).
CHUNK_WORKERS = max(1, min(4, os.cpu_count() or 1))


def render_pdf_chunked(
    template: str,
    *,
    chunk_key: str,
    chunk_size: int,
    progress: Callable[[int, int], None] | None = None,
    **context: Any,
) -> bytes:
    """A document made of many independent parts (one notice per business) laid out
    ``chunk_size`` parts at a time and joined into one PDF: layout stays linear in the number
    of parts, runs on every core (worker processes, started fresh — never forked from a
    threaded server), and ``progress(done, total)`` can follow it. The parts must not need
    page numbers running across them (each numbers its own)."""
    from weasyprint import HTML

    parts = context[chunk_key]
    tpl = _env.get_template(template)
    htmls = [
        tpl.render(**{**context, chunk_key: parts[start : start + chunk_size]})
        for start in range(0, max(len(parts), 1), chunk_size)
    ]
    sizes = [len(parts[i : i + chunk_size]) for i in range(0, max(len(parts), 1), chunk_size)]
    if len(htmls) < 3 or CHUNK_WORKERS == 1:
        documents = []
        done = 0
        for html, size in zip(htmls, sizes, strict=True):
            documents.append(HTML(string=html, base_url=str(TEMPLATES)).render())
            done += size
            if progress:
                progress(done, len(parts))
        pages = [page for doc in documents for page in doc.pages]
        return documents[0].copy(pages).write_pdf()

    from pypdf import PdfReader, PdfWriter

    pdfs: list[bytes | None] = [None] * len(htmls)
    done = 0
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=CHUNK_WORKERS, mp_context=spawn) as pool:
        futures = {pool.submit(_html_to_pdf, html): i for i, html in enumerate(htmls)}
        for future in as_completed(futures):
            i = futures[future]
            pdfs[i] = future.result()
            done += sizes[i]
            if progress:
                progress(done, len(parts))
    writer = PdfWriter()
    for data in pdfs:
        writer.append(PdfReader(io.BytesIO(data)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
