"""The local DataSync: skip unchanged, copy changed, verify every copy, report like DataSync."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from autocorp_lake import config
from autocorp_lake.local import transfer


@pytest.fixture()
def dirs(tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    exports.mkdir()
    monkeypatch.setenv("AUTOCORP_LOCAL_DIR", str(tmp_path / "local"))
    monkeypatch.delenv("AUTOCORP_LAKE_DIR", raising=False)
    monkeypatch.setenv("AUTOCORP_EXPORT_DIR", str(exports))
    (exports / "customers.csv").write_text("customer_id,first_name\n1,Zoë\n2,李\n")
    (exports / "sales_orders.csv").write_text("order_id,total\n1,10.00\n")
    (exports / "data_validation_manifest.json").write_text(json.dumps({"rows": 3}))
    (exports / "notes.txt").write_text("not a feed")
    return exports, config.lake_root()


def quiet(*args, **kwargs):
    return None


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_first_transfer_copies_every_feed_and_writes_the_report(dirs):
    exports, lake = dirs
    report = transfer.transfer(log=quiet)
    assert report["status"] == "SUCCESS"
    assert report["files_transferred"] == report["files_verified"] == 3
    assert report["files_skipped"] == 0 and report["files_ignored"] == 1
    for key, name in [("raw/csv/customers.csv", "customers.csv"),
                      ("raw/csv/sales_orders.csv", "sales_orders.csv"),
                      ("raw/csv/data_validation_manifest.json", "data_validation_manifest.json")]:
        assert (lake / key).read_bytes() == (exports / name).read_bytes()
    saved = json.loads((lake / "logs/transfer" / f"{report['execution_id']}.json").read_text())
    assert saved["execution_id"] == report["execution_id"]
    assert saved["bytes_transferred"] == sum(
        (exports / n).stat().st_size for n in ("customers.csv", "sales_orders.csv", "data_validation_manifest.json")
    )
    entry = [e for e in saved["files"] if e.get("feed") == "customers"][0]
    assert entry["sha256"] == sha(exports / "customers.csv") and entry["verified"] is True


def test_unchanged_files_are_skipped_and_a_changed_file_is_copied(dirs):
    exports, lake = dirs
    transfer.transfer(log=quiet)
    again = transfer.transfer(log=quiet)
    assert again["files_transferred"] == 0 and again["files_skipped"] == 3
    assert again["execution_id"] != transfer.transfer(log=quiet)["execution_id"]

    # same size, different bytes: the checksum catches it
    (exports / "sales_orders.csv").write_text("order_id,total\n1,99.00\n")
    changed = transfer.transfer(log=quiet)
    assert changed["files_transferred"] == 1 and changed["files_skipped"] == 2
    assert [e["key"] for e in changed["files"] if e["status"] == "TRANSFERRED"] == [
        "raw/csv/sales_orders.csv"
    ]
    assert (lake / "raw/csv/sales_orders.csv").read_text().endswith("99.00\n")
    # a destination that went missing is copied again
    (lake / "raw/csv/customers.csv").unlink()
    assert transfer.transfer(log=quiet)["files_transferred"] == 1


def test_a_copy_that_fails_verification_is_retried_and_reported(dirs, monkeypatch):
    exports, lake = dirs
    real_copy = transfer._copy_file
    calls = {"n": 0}

    def corrupt_once(source, target):
        real_copy(source, target)
        calls["n"] += 1
        if calls["n"] == 1:
            data = target.read_bytes()
            target.write_bytes(data[: len(data) // 2])  # a half file

    monkeypatch.setattr(transfer, "_copy_file", corrupt_once)
    report = transfer.transfer(log=quiet)
    assert report["status"] == "SUCCESS" and report["files_transferred"] == 3
    first = report["files"][0]
    assert first["attempts"] == 2 and len(first["verification_failures"]) == 1
    assert "checksum of the copy" in first["verification_failures"][0]
    key = first["key"]
    assert sha(lake / key) == sha(Path(first["source"]))
    assert not list(lake.rglob("*" + transfer.TMP_SUFFIX))


def test_a_copy_that_never_verifies_fails_without_a_half_file(dirs, monkeypatch):
    exports, lake = dirs
    monkeypatch.setenv("AUTOCORP_TRANSFER_ATTEMPTS", "2")

    def always_corrupt(source, target):
        target.write_bytes(source.read_bytes()[:-3])

    monkeypatch.setattr(transfer, "_copy_file", always_corrupt)
    with pytest.raises(transfer.TransferError, match="customers.csv") as info:
        transfer.transfer(log=quiet)
    assert "report" in str(info.value)
    assert not (lake / "raw/csv/customers.csv").exists()
    assert not list(lake.rglob("*" + transfer.TMP_SUFFIX))
    reports = sorted((lake / "logs/transfer").glob("exec-*.json"))
    saved = json.loads(reports[-1].read_text())
    assert saved["status"] == "ERROR" and saved["files_failed"] == 3
    assert all(e["attempts"] == 2 for e in saved["files"] if e["status"] == "FAILED")


def test_missing_export_folder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOCORP_LOCAL_DIR", str(tmp_path))
    with pytest.raises(transfer.TransferError, match="AUTOCORP_EXPORT_DIR"):
        transfer.transfer(source_dir=tmp_path / "nope", log=quiet)


def test_the_share_lands_as_it_is_like_datasync(dirs):
    """Point 6: DataSync copies the share as it is under the S3 location raw/csv/ (it cannot sort
    files into per-feed folders), selecting with the task's include filter; the local transfer does
    exactly that, and clean_feed reads each feed where it lands."""

    exports, lake = dirs
    (exports / "archive").mkdir()
    (exports / "archive" / "customers_2025.csv").write_text("customer_id\n9\n")
    (exports / "unknown_feed.csv").write_text("a\n1\n")
    (exports / "archive" / "data_validation_manifest.json").write_text("{}")
    report = transfer.transfer(log=quiet)
    copied = sorted(e["key"] for e in report["files"] if e["status"] == "TRANSFERRED")
    assert copied == ["raw/csv/archive/customers_2025.csv", "raw/csv/customers.csv",
                      "raw/csv/data_validation_manifest.json", "raw/csv/sales_orders.csv",
                      "raw/csv/unknown_feed.csv"]
    ignored = sorted(Path(e["source"]).relative_to(exports).as_posix()
                     for e in report["files"] if e["status"] == "IGNORED")
    assert ignored == ["archive/data_validation_manifest.json", "notes.txt"]
    assert not (lake / "raw/csv/customers").exists()

    from autocorp_lake import lake as lake_keys

    for feed in config.registry().feeds:
        assert lake_keys.raw_csv_key(feed.file) == f"raw/csv/{feed.file}"
    assert lake_keys.EXPORT_MANIFEST_KEY == "raw/csv/data_validation_manifest.json"
    assert (lake / lake_keys.raw_csv_key("customers.csv")).read_bytes() == (exports / "customers.csv").read_bytes()


def test_include_filter_is_the_datasync_tasks():
    import hcl2

    text = (Path(__file__).resolve().parents[2] / "infra/modules/datasync/main.tf").read_text()
    task = next(v for e in hcl2.loads(text)["resource"] for k, v in e.items() if "aws_datasync_task" in k)
    includes = next(iter(task.values()))["includes"][0]
    assert includes["value"].strip('"').replace("${var.manifest_file}", transfer.MANIFEST_FILE) == transfer.INCLUDE_FILTER
