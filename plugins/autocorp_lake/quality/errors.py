"""The gate's two exceptions (importable from `autocorp_lake.quality.gate` too)."""

from __future__ import annotations


def _failure_base() -> type[Exception]:
    try:  # Airflow 3: the task SDK's exception (airflow.exceptions re-exports it, deprecated)
        from airflow.sdk.exceptions import AirflowFailException

        return AirflowFailException
    except Exception:
        pass
    try:
        from airflow.exceptions import AirflowFailException

        return AirflowFailException
    except Exception:  # airflow absent (Glue, plain scripts)
        return RuntimeError


class QualityGateFailed(_failure_base()):  # type: ignore[misc]
    """A critical expectation failed: the batch is quarantined; do not retry."""

    def __init__(self, message: str, summary: dict | None = None):
        super().__init__(message)
        self.summary = summary or {}


class GateError(RuntimeError):
    """The gate cannot run (no staged batch, bad arguments); the message says what to do."""
