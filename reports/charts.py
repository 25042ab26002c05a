"""The one charting module: matplotlib, the CJK font, SVG out — for the portal's statistics
pages now and the PDFs later (WeasyPrint embeds the same SVG).

Figures are made with ``matplotlib.figure.Figure`` (no pyplot: no global state, safe in a
threaded server). Text is drawn as outlines (``svg.fonttype = path``), so a chart reads the
same on a machine without Chinese fonts, and ids are salted with a fixed string, so the same
numbers give the same bytes (cacheable, diffable).
"""

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager, rcParams, ticker  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

CJK_FAMILY = "Noto Sans CJK SC"
ACCENT = "#1f4e79"
SECOND = "#c0504d"
MUTED = "#5b6673"


def _setup() -> None:
    try:
        font_manager.findfont(
            font_manager.FontProperties(family=CJK_FAMILY), fallback_to_default=False
        )
    except ValueError as exc:  # pragma: no cover - the system-deps script installs it
        raise RuntimeError(
            f"{CJK_FAMILY} not found: install fonts-noto-cjk (scripts/system-deps.sh)"
        ) from exc
    rcParams.update(
        {
            "font.family": [CJK_FAMILY, "DejaVu Sans"],
            "axes.unicode_minus": False,
            "svg.fonttype": "path",
            "svg.hashsalt": "supervision-charts",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.edgecolor": MUTED,
            "axes.labelcolor": "#1b1f24",
            "xtick.color": MUTED,
            "ytick.color": MUTED,
            "font.size": 10,
        }
    )


_setup()


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    # The XML prolog and doctype are for files; inline in a page the <svg> element suffices.
    return text[text.index("<svg") :]


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    value_format: str = "{:.1%}",
    xlabel: str = "",
    width: float = 6.4,
) -> str:
    """Horizontal bars, one per label, each with its value written beside it."""
    height = max(1.6, 0.38 * len(labels) + 0.9)
    fig = Figure(figsize=(width, height))
    ax = fig.subplots()
    ys = list(range(len(labels)))[::-1]
    bars = ax.barh(ys, list(values), color=ACCENT, height=0.62)
    ax.set_yticks(ys, labels=list(labels))
    ax.set_title(title, loc="left", fontsize=11)
    if xlabel:
        ax.set_xlabel(xlabel)
    top = max(values, default=0) or 1
    ax.set_xlim(0, top * 1.18)
    for bar, v in zip(bars, values, strict=True):
        ax.text(
            bar.get_width() + top * 0.01,
            bar.get_y() + bar.get_height() / 2,
            value_format.format(v),
            va="center",
            fontsize=9,
            color="#1b1f24",
        )
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    return _svg(fig)


def line_chart(
    xs: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    ylabel: str = "",
    percent: bool = False,
    width: float = 6.4,
) -> str:
    """One line per series over the same categories (months, years)."""
    fig = Figure(figsize=(width, 2.8))
    ax = fig.subplots()
    colours = [ACCENT, SECOND, MUTED]
    for n, (name, ys) in enumerate(series.items()):
        ax.plot(list(xs), list(ys), marker="o", color=colours[n % len(colours)], label=name)
    ax.set_title(title, loc="left", fontsize=11)
    if ylabel:
        ax.set_ylabel(ylabel)
    if percent:
        ax.yaxis.set_major_formatter(ticker.PercentFormatter(1.0, decimals=0))
        ax.set_ylim(0, 1.05)
    else:
        ax.set_ylim(bottom=0)
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=9)
    if len(xs) > 8:
        for label in ax.get_xticklabels():
            label.set_rotation(45)
            label.set_horizontalalignment("right")
    ax.grid(axis="y", color="#e5e9ee")
    return _svg(fig)
