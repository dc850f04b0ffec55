# PostgreSQL 15 with wal2json (logical decoding for the local CDC replicator).
FROM postgres:15
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15-wal2json \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
