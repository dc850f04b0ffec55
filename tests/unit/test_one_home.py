"""Each idea has one definition (issue #11): read from the source, so a second copy fails here."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "plugins" / "autocorp_lake"
SOURCES = sorted(PACKAGE.rglob("*.py")) + sorted((REPO / "glue_scripts").glob("*.py"))

# the helpers whose copies had started to disagree, and where each lives now
ONE_HOME = {
    "safe_run_id": "config.py", "order_window": "config.py", "registry_uri": "config.py",
    "join": "lake.py", "exists": "lake.py", "read_text": "lake.py", "write_text": "lake.py",
    "list_files": "lake.py", "list_keys": "lake.py", "move_tree": "lake.py", "read_checkpoint": "lake.py",
    "advance_checkpoint": "lake.py", "checkpoint_key": "lake.py", "zone_name": "lake.py",
    "staged_prefix": "lake.py", "hudi_prefix": "lake.py", "is_cdc_key": "lake.py",
    "parse_args": "jobs/glue.py", "get_spark": "jobs/glue.py",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path: Path) -> str:
    return str(path.relative_to(PACKAGE)) if path.is_relative_to(PACKAGE) else str(path.relative_to(REPO))


def test_each_helper_is_defined_once_in_its_home():
    defined: dict[str, list[str]] = {}
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.FunctionDef) and node.name in ONE_HOME:
                defined.setdefault(node.name, []).append(_where(path))
    assert {name: places for name, places in defined.items() if places != [ONE_HOME[name]]} == {}
    assert sorted(defined) == sorted(ONE_HOME)


def test_nothing_edits_sys_path():
    for path in SOURCES:
        assert "sys.path.insert" not in path.read_text(encoding="utf-8"), _where(path)


def test_glue_scripts_are_entry_points_into_the_package():
    for path in sorted((REPO / "glue_scripts").glob("*.py")):
        imports = [node for node in ast.walk(_tree(path)) if isinstance(node, (ast.Import, ast.ImportFrom))]
        assert [(n.module, [a.name for a in n.names]) for n in imports] == [("autocorp_lake.jobs", [path.stem])]
        assert f"{path.stem}.main()" in path.read_text(encoding="utf-8")


def _reads_environment(node: ast.AST) -> bool:
    """os.environ.get(...), os.environ[...] (read) or os.getenv(...)."""
    def is_environ(value: ast.AST) -> bool:
        return (isinstance(value, ast.Attribute) and value.attr == "environ"
                and isinstance(value.value, ast.Name) and value.value.id == "os")

    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "get" and is_environ(node.func.value):
            return True
        if node.func.attr == "getenv" and isinstance(node.func.value, ast.Name) and node.func.value.id == "os":
            return True
    return isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and is_environ(node.value)


def test_environment_variables_are_read_in_config_only():
    """A setting read elsewhere would get its own default and its own error message. bench/
    saves and restores variables around a measurement: that is not reading a setting."""
    readers = Counter()
    for path in SOURCES:
        if _where(path) == "config.py" or _where(path).startswith("bench"):
            continue
        readers.update(_where(path) for node in ast.walk(_tree(path)) if _reads_environment(node))
    assert dict(readers) == {}
