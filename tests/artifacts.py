"""Where a test run keeps what a person should look at afterwards (screenshots, rendered PDF
pages): var/test-artifacts/ (outside version control), or $SUPERVISION_TEST_ARTIFACTS, which
CI may point at the folder it archives."""

import os
from pathlib import Path

ARTIFACTS = Path(
    os.environ.get(
        "SUPERVISION_TEST_ARTIFACTS",
        Path(__file__).resolve().parents[1] / "var" / "test-artifacts",
    )
)
SCREENSHOTS = ARTIFACTS / "screenshots"
