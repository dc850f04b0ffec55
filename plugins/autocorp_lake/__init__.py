"""AutoCorp Lake: the DAGs' logic, the local engines and the `autocorp-lake` command."""

__version__ = "0.1.0"
