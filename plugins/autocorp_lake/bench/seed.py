"""`autocorp-lake bench seed`: seconds to write the CSV exports at a scale."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def run(scale: str = "full") -> dict:
    from autocorp_lake.local import generator

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        manifest = generator.write_exports(Path(out), scale=scale, seed=42, progress=True)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(out).glob("*.csv"))
    rows = sum(v.get("raw_rows", 0) for v in manifest.get("expected_rows", {}).values()
               if isinstance(v, dict))
    return {"rows": [
        {"figure": f"write {scale} exports", "value": round(seconds, 1), "unit": "s"},
        {"figure": "rows written", "value": rows, "unit": "rows"},
        {"figure": "bytes written", "value": size, "unit": "bytes"},
    ]}
