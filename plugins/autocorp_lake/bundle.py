"""`make bundle`: build dist/mwaa/, laid out as the MWAA bucket expects.

dist/mwaa/
  dags/               the DAG files, include/ (registry, SQL, suites) and an .airflowignore
  plugins.zip         the autocorp_lake package at the zip root (MWAA puts it on sys.path),
                      without the local-only code (LOCAL_ONLY): Airflow's plugin manager imports
                      every module of plugins/, and each must import with the MWAA image's
                      packages + requirements.txt (make deploy-check holds that)
  requirements.txt    with the Airflow constraint line
  startup.sh          exports LAKE_TARGET=aws and the environment's names
  glue/autocorp_lake.zip  the package for every Glue job (--extra-py-files): plugins.zip's modules
                      plus jobs/ (the PySpark job code, which an MWAA worker cannot import: no
                      pyspark there); Terraform uploads it to glue_scripts/, not to the MWAA bucket root
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

from autocorp_lake import config

AIRFLOWIGNORE = "include/\n__pycache__/\n"
# Local engines, the CLI and tools: they need pandas, pyarrow, Spark, psycopg servers... and never
# run on MWAA (targets.steps() picks aws there; targets/local.py imports them only in its callables).
LOCAL_ONLY = ("local", "bench", "cli.py", "runner.py", "bundle.py")
# The Glue jobs' PySpark code: in the Glue zip only (the plugin manager would fail on `import pyspark`)
GLUE_ONLY = ("jobs",)


def in_bundle(relative: Path, glue: bool = False) -> bool:
    """Whether a file of plugins/autocorp_lake (path relative to it) goes into plugins.zip, or with
    glue=True into the Glue jobs' zip."""
    parts = relative.parts
    left_out = LOCAL_ONLY if glue else LOCAL_ONLY + GLUE_ONLY
    return ("__pycache__" not in parts and relative.suffix != ".pyc"
            and not (parts and parts[0] in left_out))


def _zip_package(package: Path, target: Path, glue: bool) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file() and in_bundle(path.relative_to(package), glue):
                archive.write(path, path.relative_to(package.parent))


def _ignore(_dir, names):
    return [n for n in names if n == "__pycache__" or n.endswith(".pyc")]


def build(out_dir: Path | None = None) -> Path:
    root = config.repo_root()
    out = Path(out_dir or root / "dist" / "mwaa")
    if out.exists():
        shutil.rmtree(out)
    dags = out / "dags"
    shutil.copytree(root / "dags", dags, ignore=_ignore)
    shutil.copytree(root / "include", dags / "include", ignore=_ignore)
    (dags / ".airflowignore").write_text(AIRFLOWIGNORE)
    package = root / "plugins" / "autocorp_lake"
    _zip_package(package, out / "plugins.zip", glue=False)
    (out / "glue").mkdir()
    _zip_package(package, out / "glue" / "autocorp_lake.zip", glue=True)
    shutil.copy(root / "requirements.txt", out / "requirements.txt")
    shutil.copy(root / "infra" / "mwaa" / "startup.sh", out / "startup.sh")
    return out


if __name__ == "__main__":
    built = build(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(f"MWAA bundle: {built}")
    for path in sorted(built.rglob("*")):
        if path.is_file() and "include" not in path.parts:
            print(f"  {path.relative_to(built)}  {path.stat().st_size} bytes")
