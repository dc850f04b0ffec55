"""The quality gate: GX Core 1.x suites (include/quality/*.json), the gate that validates a staged
batch before promote, its results and the Data Docs site, and the release of a fixed batch.

Modules: `suites` (load + check suite JSON), `gate` (`run_gate(batch)`), `dispatch` (the task:
in the worker, or in the quality-gate Glue job for a big batch), `results` (`latest`),
`release` (`release(name, run_id)`). Nothing heavy is imported here (GX loads on first use).
"""
