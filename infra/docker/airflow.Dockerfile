# Local Airflow for docker-compose.yaml: the official image plus Java 17 (Spark, Hudi) and the
# local engines' Python packages, pinned by the repo's lock file.
FROM apache/airflow:3.3.1-python3.11

USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
    && ln -s "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" /usr/lib/jvm/java-17 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17

USER airflow
COPY requirements-lock.txt /tmp/requirements-lock.txt
RUN pip install --no-cache-dir -c /tmp/requirements-lock.txt \
        "apache-airflow==3.3.1" \
        "apache-airflow-providers-amazon==9.34.0" \
        "apache-airflow-providers-postgres==7.1.1" \
        "great-expectations==1.24.1" \
        "pyspark==3.5.4" \
        pandas pyarrow "psycopg[binary]" sqlglot duckdb rich tenacity PyYAML matplotlib
# the `autocorp-lake` command (seed, reconcile, ...); the code itself is the mounted ./plugins
COPY --chown=airflow:0 pyproject.toml /opt/autocorp-lake/pyproject.toml
COPY --chown=airflow:0 plugins /opt/autocorp-lake/plugins
RUN pip install --no-cache-dir --no-deps /opt/autocorp-lake
