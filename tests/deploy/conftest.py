import pytest

import deploy_support as mwaa


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/deploy/" in str(item.fspath):
            item.add_marker(pytest.mark.deploy)


@pytest.fixture(scope="session")
def reference():
    if not mwaa.reference_present():
        pytest.fail(f"the MWAA 3.3.1 reference files are missing under {mwaa.MWAA_DIR} "
                    "(set AUTOCORP_MWAA_REFERENCE to the folder with constraints-3.12.txt)")
    return mwaa
