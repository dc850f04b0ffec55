"""Glue job entry point: the job is `autocorp_lake.jobs.quality_gate` (the package zip on Glue 5.0,
the installed package under local spark-submit)."""

from autocorp_lake.jobs import quality_gate

if __name__ == "__main__":
    quality_gate.main()
