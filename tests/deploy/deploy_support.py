"""What MWAA 3.3.1 really runs, from ../shared/mwaa-3.3.1/ (the image's constraints and package
list), for the checks of `make deploy-check`."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MWAA_DIR = Path(os.environ.get("AUTOCORP_MWAA_REFERENCE", REPO.parent / "shared" / "mwaa-3.3.1"))
CONSTRAINTS = MWAA_DIR / "constraints-3.12.txt"
IMAGE_PACKAGES = MWAA_DIR / "mwaa-image-packages.txt"
ESSENTIAL = MWAA_DIR / "mwaa-essential-constraints.txt"
TOOLS_BIN = REPO / ".venv-tools" / "bin"

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;#]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """`name==version` lines of a requirements/constraints file, by canonical name."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            out[canonical(match.group(1))] = match.group(3)
    return out


def requirement_lines(path: Path) -> list[str]:
    """requirements.txt without comments, blank lines and option lines (-c/--constraint)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            out.append(line)
    return out


def reference_present() -> bool:
    return CONSTRAINTS.is_file() and IMAGE_PACKAGES.is_file()
