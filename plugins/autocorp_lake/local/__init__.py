"""The local engines: services, replicator, transfer, spark runner, catalog, query engine."""
