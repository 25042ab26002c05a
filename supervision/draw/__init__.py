"""The sr1 draw protocol (``sr1.py``) and its verifier (``verify.py``).

Citizens download one self-contained script: ``standalone_verifier_source()`` writes sr1.py's
code followed by verify.py's, so the protocol exists in exactly one place and the verifier
runs the very code the product draws with.
"""

import ast
import hashlib
from pathlib import Path

_HERE = Path(__file__).parent
_IMPORT_BEGIN = "# sr1-import-begin"
_IMPORT_END = "# sr1-import-end"
_HEADER = """\
#!/usr/bin/env python3
# sr1 抽查结果包核验脚本 / sr1 draw bundle verifier (standalone, standard library only)
# 用法 / usage: python3 verify.py BUNDLE_DIR [-v]     (Python 3.10 or newer)
# Exit status: 0 verified, 1 a difference was found, 2 the bundle could not be read.
#
# Built from the product's own files: the protocol code below is the code that made the
# draw, followed by the verification logic.
#   supervision/draw/sr1.py     sha256 {sr1_sha256}
#   supervision/draw/verify.py  sha256 {verify_sha256}
import sys

if sys.version_info < (3, 10):
    sys.exit("需要 Python 3.10 或更高版本 / Python 3.10 or newer is required")

"""
# In one file the protocol is this very module; verify.py refers to it as ``sr1``.
_SR1_ALIAS = "import sys\n\nsr1 = sys.modules[__name__]  # the protocol code above\n"


def standalone_verifier_source() -> str:
    """The downloadable verifier: sr1.py, then verify.py with its sr1 import replaced."""
    sr1_source = (_HERE / "sr1.py").read_text(encoding="utf-8")
    verify_source = (_HERE / "verify.py").read_text(encoding="utf-8")
    _check_no_shared_names(sr1_source, verify_source)
    start = verify_source.index(_IMPORT_BEGIN)
    end = verify_source.index("\n", verify_source.index(_IMPORT_END)) + 1
    header = _HEADER.format(
        sr1_sha256=hashlib.sha256(sr1_source.encode()).hexdigest(),
        verify_sha256=hashlib.sha256(verify_source.encode()).hexdigest(),
    )
    return "".join(
        [
            header,
            sr1_source,
            "\n\n# " + "-" * 40 + " verify.py " + "-" * 40 + "\n\n",
            verify_source[:start],
            _SR1_ALIAS,
            verify_source[end:],
        ]
    )


def _check_no_shared_names(sr1_source: str, verify_source: str) -> None:
    """In one namespace a verify.py name must not replace anything sr1.py's code uses."""
    sr1_defined, sr1_all = _top_level_names(sr1_source)
    verify_defined, verify_all = _top_level_names(verify_source)
    clashes = (sr1_defined & verify_all) | (verify_defined & sr1_all)
    if clashes:
        raise RuntimeError(f"sr1.py and verify.py both bind {sorted(clashes)} at top level")


def _top_level_names(source: str) -> tuple[set[str], set[str]]:
    """(names defined by the module's own statements, those plus imported names)."""
    defined: set[str] = set()
    imported: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            imported.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return defined, defined | imported
