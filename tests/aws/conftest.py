"""The aws target under moto: fake credentials, one region, the aws_default connection."""

from __future__ import annotations

import pytest
from moto import mock_aws

REGION = "us-east-1"


@pytest.fixture()
def aws(monkeypatch):
    monkeypatch.setenv("LAKE_TARGET", "aws")
    monkeypatch.setenv("LAKE_ENV", "dev")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", f'{{"conn_type": "aws", "extra": {{"region_name": "{REGION}"}}}}')
    with mock_aws():
        yield
