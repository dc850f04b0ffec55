"""What every benchmark shares: the error that says what to load first, and the machine's figures."""

from __future__ import annotations

import os
import platform


class BenchError(RuntimeError):
    """The benchmark cannot run as asked; the message says what to load first."""


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "platform": platform.platform(),
    }
