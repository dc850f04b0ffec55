"""What every benchmark shares: the error that says what to load first, the machine's figures,
and a throwaway local environment to time the CLI in."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Callable, Iterator


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


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def throwaway_lake(name: str) -> Iterator[Callable[..., float]]:
    """A local environment of its own (PostgreSQL on a free loopback port, its own lake), so the
    user's database and lake are untouched. Yields `step(*args)`: runs `autocorp-lake <args>` in
    it and returns the seconds it took (a failed step raises BenchError with its stderr)."""
    work = tempfile.mkdtemp(prefix=f"bench-{name}-")
    env = dict(os.environ, AUTOCORP_LOCAL_DIR=work, AUTOCORP_PG_PORT=str(_free_loopback_port()))
    env.pop("AUTOCORP_INCLUDE_DIR", None)

    def step(*args: str) -> float:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "autocorp_lake.cli", *args], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"bench {name}: `autocorp-lake {' '.join(args)}` failed:\n{done.stderr[-2000:]}")
        return time.perf_counter() - started

    try:
        step("up")
        step("seed", "--quiet")
        yield step
    finally:
        subprocess.run([sys.executable, "-m", "autocorp_lake.cli", "down"], env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
