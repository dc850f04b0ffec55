"""The Glue jobs' code: one module per job, each with `main(argv)`, run by the entry points in
`glue_scripts/` on AWS Glue 5.0 (from the package zip) and locally (in-process or spark-submit)."""
