"""requirements.txt installs on MWAA 3.3.1: MWAA runs `pip install -r requirements.txt` under
Airflow's constraints for Python 3.12; a pin that differs, or a set that does not resolve, fails
the environment update (issue 12, point 1)."""

from __future__ import annotations

import os
import subprocess
import sys


from deploy_support import REPO, canonical

REQUIREMENTS = REPO / "requirements.txt"


def test_every_pin_equals_the_mwaa_constraints(reference):
    constraints = reference.pins(reference.CONSTRAINTS)
    essential = reference.pins(reference.ESSENTIAL)
    wrong = []
    for line in reference.requirement_lines(REQUIREMENTS):
        match = reference.PIN.match(line)
        assert match, f"requirements.txt: {line!r} is not pinned with =="
        name, version = canonical(match.group(1)), match.group(3)
        if name in constraints and constraints[name] != version:
            wrong.append(f"{name}=={version} (constraints: {constraints[name]})")
        if name in essential and essential[name] != version:
            wrong.append(f"{name}=={version} (MWAA essential: {essential[name]})")
    assert not wrong, "requirements.txt pins that MWAA's constraints refuse: " + ", ".join(wrong)


def test_nothing_that_airflow_or_the_image_owns(reference):
    """MWAA installs Airflow itself; a requirements line for it (or for a package the essential
    constraints hold) is at best ignored and at worst breaks the image."""
    essential = reference.pins(reference.ESSENTIAL)
    names = {canonical(reference.PIN.match(line).group(1)) for line in reference.requirement_lines(REQUIREMENTS)}
    assert not names & set(essential), f"requirements.txt overrides MWAA essentials: {sorted(names & set(essential))}"


def test_constraint_line_is_airflows_for_3_3_1_py312():
    first = REQUIREMENTS.read_text().splitlines()[0]
    assert first.startswith("--constraint") and "constraints-3.3.1/constraints-3.12.txt" in first


def test_requirements_resolve_for_python_312_under_the_constraints(reference, tmp_path):
    """pip resolves requirements.txt for CPython 3.12 wheels under the image's constraints file
    (the URL line is replaced by the local copy: the same file, no GitHub access needed)."""
    local = tmp_path / "requirements.txt"
    lines = [line for line in REQUIREMENTS.read_text().splitlines() if not line.startswith(("-c", "--constraint"))]
    local.write_text("\n".join(lines) + "\n")
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
        "--python-version", "3.12", "--implementation", "cp", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input",
        "-c", str(reference.CONSTRAINTS), "-r", str(local),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900,
                            env={**os.environ, "PIP_NO_INPUT": "1"})
    assert result.returncode == 0, (
        "requirements.txt does not install under MWAA 3.3.1's constraints (Python 3.12):\n"
        + result.stdout[-3000:] + result.stderr[-4000:]
    )
