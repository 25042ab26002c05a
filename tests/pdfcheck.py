"""Reading a PDF back as a person would: its text (pdftotext), its fonts (pdffonts: every
one embedded), its first page rendered to PNG for a person to look at (pdftoppm)."""

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.artifacts import SCREENSHOTS
from tests.strict import need_tool


def text(data: bytes) -> str:
    """The PDF's text, whitespace removed (CJK text extracts with spaces between glyph runs)."""
    tool = need_tool("pdftotext", "poppler-utils")
    out = subprocess.run(
        [tool, "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    )
    return "".join(out.stdout.decode("utf-8").split())


def pages(data: bytes) -> int:
    tool = need_tool("pdfinfo", "poppler-utils")
    out = subprocess.run([tool, "-"], input=data, capture_output=True, check=True).stdout.decode()
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def fonts(data: bytes) -> list[tuple[str, bool]]:
    """(font name, embedded) for every font the PDF uses."""
    tool = need_tool("pdffonts", "poppler-utils")
    out = subprocess.run([tool, "-"], input=data, capture_output=True, check=True).stdout.decode()
    rows = out.splitlines()[2:]  # a header line and a rule
    found = []
    for row in rows:
        parts = row.split()
        # name type [encoding…] emb sub uni object-id generation: emb is the 5th from the end
        found.append((parts[0], parts[-5] == "yes"))
    return found


def check_fonts(data: bytes) -> None:
    used = fonts(data)
    assert used, "the PDF uses no font"
    assert all(embedded for _, embedded in used), used


def render_first_page(data: bytes, name: str) -> Path:
    """Page 1 at 70 dpi, kept under the test artefacts as ``name``.png."""
    tool = need_tool("pdftoppm", "poppler-utils")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "doc.pdf"
        src.write_bytes(data)
        subprocess.run(
            [tool, "-png", "-r", "70", "-f", "1", "-l", "1", str(src), f"{tmp}/p"], check=True
        )
        png = next(Path(tmp).glob("p*.png"))
        assert png.stat().st_size > 8_000, "page 1 renders blank"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        shutil.copy(png, target)
        return target
