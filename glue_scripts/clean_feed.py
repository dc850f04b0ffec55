"""Glue job entry point: the job is `autocorp_lake.jobs.clean_feed` (the package zip on Glue 5.0,
the installed package under local spark-submit)."""

from autocorp_lake.jobs import clean_feed

if __name__ == "__main__":
    clean_feed.main()
