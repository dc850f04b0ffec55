"""The quality gate: GX Core 1.x suites (include/quality/*.json), the gate that validates a staged
batch before promote, its results and the Data Docs site, and the release of a fixed batch.

Modules: `suites` (load + check suite JSON), `gate` (`run_gate(batch)`, as named steps),
`derived` (the suite's derived `_chk_*` columns, for pandas and Spark), `gx_run` (GX context,
validation, summary rows, Data Docs), `errors` (`QualityGateFailed`, `GateError`), `schema_drift`,
`dispatch` (the quality_gate task: the verdict the staging job's gate wrote), `results`
(`latest`), `held`, `release` (`release(name, run_id)`). Nothing heavy is imported here (GX loads on
first use).
"""
