"""Glue job entry point: the job is `autocorp_lake.jobs.apply_changes` (the package zip on Glue 5.0,
the installed package under local spark-submit)."""

from autocorp_lake.jobs import apply_changes

if __name__ == "__main__":
    apply_changes.main()
