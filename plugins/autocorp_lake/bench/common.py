"""What every benchmark shares: the error that says what to load first, the machine's figures,
environment variables set for a block and restored after it, and a throwaway local environment
to time the CLI in."""

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
from dataclasses import dataclass
from pathlib import Path
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


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def variables(**values: str | None) -> Iterator[None]:
    """os.environ with `values` set (None: unset) inside the block, as it was after it."""
    saved = {key: os.environ.get(key) for key in values}

    def apply(chosen: dict[str, str | None]) -> None:
        for key, value in chosen.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    try:
        apply(values)
        yield
    finally:
        apply(saved)


# the variables that place a local environment and choose the part of the registry it runs
PLACEMENT = ("AUTOCORP_LOCAL_DIR", "AUTOCORP_PG_PORT", "AUTOCORP_PG_DIR", "AUTOCORP_LAKE_DIR",
             "AUTOCORP_INCLUDE_DIR", "LAKE_TARGET", "AUTOCORP_TABLES", "AUTOCORP_FEEDS")


@dataclass
class Throwaway:
    """A local environment of its own: `work` holds its PostgreSQL cluster, lake, logs and
    AIRFLOW_HOME; `env` is this process's environment pointed at it, for child processes."""

    name: str
    work: Path
    env: dict[str, str]

    def step(self, *args: str, extra_env: dict[str, str] | None = None) -> float:
        """Run `autocorp-lake <args>` in it (with `extra_env` set); the seconds it took (a failed
        step raises BenchError with its stderr)."""
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "autocorp_lake.cli", *args], env={**self.env, **(extra_env or {})},
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"bench {self.name}: `autocorp-lake {' '.join(args)}` failed:\n{done.stderr[-2000:]}")
        return time.perf_counter() - started

    def here(self) -> contextlib.AbstractContextManager[None]:
        """This process's package settings pointed at it inside the block (to read its lake)."""
        return variables(**{key: self.env.get(key) for key in PLACEMENT})


@contextlib.contextmanager
def throwaway_environment(name: str, scale: str = "demo", **settings: str) -> Iterator[Throwaway]:
    """Throwaway: PostgreSQL on a free loopback port, seeded with the data of `scale` (demo or full:
    the source tables and the CSV exports), and an empty lake, so the user's database and lake are
    untouched; `settings` are extra variables for it. Its
    folder can be entered by the postgres user, so the cluster lives in it and goes with it."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    work.chmod(0o755)
    env = dict(os.environ, AUTOCORP_LOCAL_DIR=str(work), AUTOCORP_PG_PORT=str(free_loopback_port()),
               LAKE_TARGET="local", **settings)
    for key in ("AUTOCORP_INCLUDE_DIR", "AUTOCORP_PG_DIR", "AUTOCORP_LAKE_DIR"):
        env.pop(key, None)
    lake = Throwaway(name, work, env)
    try:
        lake.step("up")
        lake.step("seed", "--quiet", "--csv", "--scale", scale, "--db-scale", scale)
        yield lake
    finally:
        subprocess.run([sys.executable, "-m", "autocorp_lake.cli", "down"], env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def throwaway_lake(name: str) -> Iterator[Callable[..., float]]:
    """A throwaway environment (throwaway_environment); yields its `step(*args)`: runs
    `autocorp-lake <args>` in it and returns the seconds it took."""
    with throwaway_environment(name) as lake:
        yield lake.step
