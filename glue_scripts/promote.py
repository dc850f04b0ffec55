"""Glue job entry point: the job is `autocorp_lake.jobs.promote` (the package zip on Glue 5.0,
the installed package under local spark-submit)."""

from autocorp_lake.jobs import promote

if __name__ == "__main__":
    promote.main()
