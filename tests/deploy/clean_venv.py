"""The clean MWAA-like venv of `make deploy-check`: the MWAA 3.3.1 image's Python packages (those
that install on this Python), requirements.txt under the image's constraints, and moto for the
AWS APIs; nothing else (no autocorp_lake, no pandas/pyarrow/GX...). Built with uv from
.venv-tools, cached in .deploy-venv/ and rebuilt when an input changes."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
from pathlib import Path

from deploy_support import CONSTRAINTS, IMAGE_PACKAGES, REPO, TOOLS_BIN, pins

VENV = REPO / ".deploy-venv"
MOTO = "moto[s3,glue,dms,datasync,athena,cloudwatch,secretsmanager]"


def moto_pin() -> str:
    lock = pins(REPO / "requirements-lock.txt")
    return f"{MOTO}=={lock['moto']}" if "moto" in lock else MOTO


def _key() -> str:
    digest = hashlib.sha256()
    for path in (IMAGE_PACKAGES, CONSTRAINTS, REPO / "requirements.txt", Path(__file__)):
        digest.update(path.read_bytes())
    digest.update((sys.version + moto_pin()).encode())
    return digest.hexdigest()


def _uv(*args: str, log: list) -> subprocess.CompletedProcess:
    started = time.monotonic()
    result = subprocess.run([str(TOOLS_BIN / "uv"), *args], capture_output=True, text=True, timeout=900)
    log.append(f"uv {' '.join(args[:3])} ... {time.monotonic() - started:.1f}s rc={result.returncode}")
    return result


def image_requirements(tmp: Path, skip: set[str]) -> Path:
    lines = [line for line in IMAGE_PACKAGES.read_text().splitlines()
             if line and not line.startswith("#") and line.split("==")[0].lower() not in skip]
    path = tmp / "image.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def build(tmp: Path) -> tuple[Path, dict]:
    """The venv's python and a build report (cached, skipped packages, timings)."""
    python = VENV / "bin" / "python"
    key = _key()
    stamp = VENV / ".deploy-key"
    info: dict = {"cached": False, "skipped": [], "log": []}
    if python.exists() and stamp.exists() and stamp.read_text() == key:
        info["cached"] = True
        return python, info
    if not (TOOLS_BIN / "uv").exists():
        raise RuntimeError(".venv-tools/bin/uv is missing: make tools")
    base = getattr(sys, "_base_executable", sys.executable)
    result = _uv("venv", "--clear", "--python", base, str(VENV), log=info["log"])
    assert result.returncode == 0, result.stderr
    # the image's packages, exactly pinned, without resolution; a package with no build for this
    # Python (MWAA runs 3.12) is skipped and named in the report
    skip: set[str] = set()
    for _ in range(20):
        result = _uv("pip", "install", "--python", str(python), "--no-deps", "-r",
                     str(image_requirements(tmp, skip)), log=info["log"])
        if result.returncode == 0:
            break
        names = set(re.findall(r"(?:Because|for) ([A-Za-z0-9_.-]+)==", result.stderr)) - skip
        if not names:
            raise RuntimeError("the MWAA image packages do not install:\n" + result.stderr[-3000:])
        skip |= {n.lower() for n in names}
    else:
        raise RuntimeError("too many MWAA image packages fail to install:\n" + result.stderr[-3000:])
    info["skipped"] = sorted(skip)
    requirements = tmp / "requirements.txt"
    requirements.write_text("\n".join(line for line in (REPO / "requirements.txt").read_text().splitlines()
                                      if not line.startswith(("-c", "--constraint"))) + "\n")
    image = image_requirements(tmp, skip)
    for args in (["-r", str(requirements), "-c", str(CONSTRAINTS), "-c", str(image)],
                 [moto_pin(), "-c", str(image)]):
        result = _uv("pip", "install", "--python", str(python), *args, log=info["log"])
        if result.returncode != 0:
            raise RuntimeError(f"uv pip install {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    stamp.write_text(key)
    return python, info
