"""Glue job entry point: the job is `autocorp_lake.jobs.maintenance` (the package zip on Glue 5.0,
the installed package under local spark-submit)."""

from autocorp_lake.jobs import maintenance

if __name__ == "__main__":
    maintenance.main()
