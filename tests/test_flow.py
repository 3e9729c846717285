"""The ingest-files flow end to end on a real (temporary) Prefect server."""

from __future__ import annotations

import asyncio
import json
import uuid

import duckdb
import orjson
import pytest

from patchtrail.devkit.simulator import simulate_to_dir

pytestmark = pytest.mark.service("prefect")


def test_flow_lands_files_and_publishes_artifacts(prefect_server, tmp_path):
    from patchtrail.flows.ingest_files import ingest_files_flow
    from prefect.client.orchestration import get_client

    simulate_to_dir(tmp_path / "data", accounts=3, regions=1, instances=3, days=20, seed=3)
    (tmp_path / "data/broken.json.gz").write_bytes(b"\x1f\x8b nope")
    wh = str(tmp_path / "w.duckdb")
    result = ingest_files_flow([str(tmp_path / "data")], warehouse=wh)
    assert result["totals"]["items_landed"] > 0
    assert result["totals"]["objects_rejected"] == 1
    assert result["fleet"]["instances"] > 0

    state = ingest_files_flow([str(tmp_path / "data")], warehouse=wh, return_state=True)
    assert state.result()["totals"]["items_landed"] == 0

    async def artifacts():  # this run's: the server is shared with other tests' runs
        async with get_client() as client:
            from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

            found = await client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
            return {a.key: a for a in found}

    found = asyncio.run(artifacts())
    assert set(found) == {"ingest-files-summary", "ingest-files-summary-objects",
                          "ingest-files-summary-top-accounts"}
    assert "Fleet now" in found["ingest-files-summary"].data
    top = json.loads(found["ingest-files-summary-top-accounts"].data)
    with duckdb.connect(wh, read_only=True) as con:
        expected = con.execute("select account_id, compliance_pct from marts.account_summary "
                               "where non_compliant > 0 order by compliance_pct, missing_critical_patches desc, "
                               "missing_high_patches desc, account_id").fetchall()
    assert top and [(r["account_id"], r["compliance_pct"]) for r in top] == expected


def test_strict_flow_fails_when_records_are_rejected(prefect_server, tmp_path):
    from factories import config_file_ci, lake_event, patch
    from patchtrail.flows.ingest_files import ingest_files_flow

    good = orjson.dumps(lake_event(config_file_ci("2026-03-01T06:00:00.000Z", [patch("KB1")])))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "e.ndjson").write_bytes(good + b"\n{not json\n")
    with pytest.raises(RuntimeError, match="--strict: 0 objects and 1 record rejected"):
        ingest_files_flow([str(tmp_path / "in")], warehouse=str(tmp_path / "w.duckdb"), strict=True)


def test_a_flow_that_reads_nothing_fails(prefect_server, tmp_path):
    from patchtrail.flows.ingest_files import ingest_files_flow

    (tmp_path / "bad.json.gz").write_bytes(b"\x1f\x8b nope")
    with pytest.raises(RuntimeError, match=r"nothing readable .* \(exit code 3\)"):
        ingest_files_flow([str(tmp_path / "bad.json.gz")], warehouse=str(tmp_path / "w.duckdb"))


def test_lake_flow_lands_windows_and_reports_scan_cost(prefect_server, tmp_path):
    from patchtrail.flows.ingest_lake import ingest_lake_flow

    from patchtrail.devkit.lake_emulator.emulator import LakeEmulator

    simulate_to_dir(tmp_path / "data", accounts=1, regions=1, instances=3, days=20, seed=4)
    with LakeEmulator(tmp_path / "data/lake-events/events.ndjson") as lake:
        result = ingest_lake_flow([{"id": lake.store_id}], warehouse=str(tmp_path / "w.duckdb"),
                                  start="2026-01-01", end="2026-01-25", window="8d",
                                  endpoint_url=lake.endpoint_url, region="us-east-1")
    assert result["totals"]["items_landed"] > 0 and len(result["queries"]) == 3
    assert all(q["bytes_scanned"] > 0 for q in result["queries"])


def test_s3_flow_lands_an_organisation_from_moto(prefect_server, tmp_path):
    from moto.server import ThreadedMotoServer
    from patchtrail.flows.ingest_s3 import ingest_s3_flow

    from patchtrail.aws import AwsEndpoints
    from patchtrail.devkit.s3_upload import upload_tree
    from patchtrail.sources import s3

    simulate_to_dir(tmp_path / "data", accounts=2, regions=1, instances=2, days=10, seed=6)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        bucket = f"org-config-{uuid.uuid4().hex[:12]}"  # moto's backend is shared by the process
        upload_tree(tmp_path / "data", bucket, "", s3.make_client(AwsEndpoints(s3_endpoint_url=url)), create_bucket=True)
        result = ingest_s3_flow(f"s3://{bucket}", warehouse=str(tmp_path / "w.duckdb"),
                                endpoint_url=url, region="us-east-1")
    finally:
        server.stop()
    assert result["totals"]["items_landed"] > 0 and result["totals"]["objects_rejected"] == 0


def test_rebuild_and_publish_flow_and_backfill(prefect_server, tmp_path):
    from patchtrail.flows.maintenance import backfill_flow, rebuild_and_publish_flow

    simulate_to_dir(tmp_path / "data", accounts=1, regions=1, instances=3, days=20, seed=8)
    wh = str(tmp_path / "w.duckdb")
    first = backfill_flow("files", paths=[str(tmp_path / "data")], warehouse=wh)
    assert first["totals"]["items_landed"] > 0
    result = rebuild_and_publish_flow(warehouse=wh, parquet_root=str(tmp_path / "lake"),
                                      report_path=str(tmp_path / "report.html"))
    assert result["rebuild"]["items"] == first["totals"]["items_landed"]
    assert result["parquet"]["written"] > 0 and (tmp_path / "report.html").exists()
