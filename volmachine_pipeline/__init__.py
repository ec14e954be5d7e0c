"""volmachine_pipeline: the Dagster side (assets, resources, partitions, checks, sensors, CLI)."""
