"""The local Spark settings keep every socket on loopback."""

from __future__ import annotations

from autocorp_lake.local import spark


def test_driver_and_spark_submit_children_bind_to_loopback():
    conf = spark.spark_conf("t")
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert spark.submit_env()["SPARK_LOCAL_IP"] == "127.0.0.1"
    command = spark.spark_submit_command("glue_scripts/promote.py", {"table": "customers"})
    assert "spark.driver.bindAddress=127.0.0.1" in command
