"""The landing sensor: each new quote file in ``$VOLMACHINE_HOME/landing/`` becomes a snapshot partition."""


import dagster as dg

from volmachine_pipeline.config import volmachine_home
from volmachine_pipeline.landing import (
    archive,
    default_options,
    duplicate_of,
    file_sha256,
    landed_files,
    reject,
    snapshot_key,
)
from volmachine_pipeline.partitions import SNAPSHOT_PARTITIONS_NAME, snapshot_partitions

MAX_FILES_PER_TICK = 50


def make_landing_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(job=job, minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Watches $VOLMACHINE_HOME/landing/: one snapshot partition and run per new file; "
                           "same bytes twice are recognised by hash; unreadable files go to landing/rejected/.")
    def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        from volmachine_core.market.vendor import detect_format
        from volmachine_pipeline.ingest_io import read_raw_file

        home = volmachine_home()
        landing = home / "landing"
        existing = list(context.instance.get_dynamic_partitions(SNAPSHOT_PARTITIONS_NAME))
        new_keys, runs = [], []
        for path in landed_files(landing)[:MAX_FILES_PER_TICK]:
            sha = file_sha256(path)
            dup = duplicate_of(sha, existing + new_keys)
            if dup:
                dest = home / "archive" / "duplicates"
                dest.mkdir(parents=True, exist_ok=True)
                path.replace(dest / f"{path.name}.{sha[:12]}")
                context.log.info(f"{path.name}: same content as snapshot {dup}; not ingested again")
                continue
            try:
                rf = read_raw_file(path)
                detect_format(list(rf.frame.columns), source_file=str(path))
            except Exception as exc:  # unreadable file: reject with the reason, keep the sensor alive
                reject(landing, path, str(exc))
                context.log.warning(f"rejected {path.name}: {exc}")
                continue
            key = snapshot_key(path, sha)
            archive(home, key, path, default_options(path), move=True)
            new_keys.append(key)
            runs.append(dg.RunRequest(partition_key=key, run_key=key))
        if not runs:
            return dg.SkipReason("no new quote files in landing/")
        return dg.SensorResult(run_requests=runs,
                               dynamic_partitions_requests=[snapshot_partitions.build_add_request(new_keys)])

    return landing_sensor
