"""Flows fetch in small pieces: a transient fault retries one Lake window or one account's S3
objects, a permanent one is recorded and the other pieces land (real Prefect server, the local
Lake endpoint and moto S3 over HTTP)."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections import Counter

import duckdb
import pytest

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.settings import settings

pytestmark = pytest.mark.service("prefect")

STORE_OK = "00000000-0000-4000-8000-0000000000a1"
STORE_OFF = "00000000-0000-4000-8000-0000000000b2"


@pytest.fixture
def one_attempt_per_call(monkeypatch):
    """botocore makes one attempt per call, so injected faults reach the flow's own retries."""
    monkeypatch.setenv("PATCHTRAIL_AWS_MAX_ATTEMPTS", "1")
    settings.cache_clear()
    yield
    settings.cache_clear()


def no_delay(monkeypatch, module, name):
    """The module's task with the same retries but no wait between them."""
    task = getattr(module, name)
    monkeypatch.setattr(module, name, task.with_options(retry_delay_seconds=0, retry_jitter_factor=None))


def task_runs(flow_run_id) -> dict[str, int]:
    """Task run name -> how many times it ran, for one flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read():
        async with get_client() as client:
            runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            return {r.name: r.run_count for r in runs}

    return asyncio.run(read())


def test_lake_flow_retries_only_the_throttled_window(prefect_server, tmp_path, monkeypatch,
                                                      one_attempt_per_call):
    import patchtrail.flows.ingest_lake as module

    from patchtrail.devkit.lake_emulator.emulator import LakeEmulator

    no_delay(monkeypatch, module, "query_window")
    simulate_to_dir(tmp_path / "data", accounts=1, regions=1, instances=3, days=20, seed=4)
    with LakeEmulator(tmp_path / "data/lake-events/events.ndjson", store_id=STORE_OK) as lake:
        lake.faults.throttle_next(1, operation="StartQuery")
        state = module.ingest_lake_flow([{"id": STORE_OK}], warehouse=str(tmp_path / "w.duckdb"),
                                        start="2026-01-01", end="2026-01-25", window="8d",
                                        max_concurrency=1, endpoint_url=lake.endpoint_url,
                                        region="us-east-1", return_state=True)
    result = state.result()
    assert [q["status"] for q in result["queries"]] == ["FINISHED"] * 3
    assert result["totals"]["objects_rejected"] == 0 and result["totals"]["items_landed"] > 0
    runs = task_runs(state.state_details.flow_run_id)
    query_runs = sorted(count for name, count in runs.items() if name.startswith("query "))
    assert query_runs == [1, 1, 2], runs            # the throttled window alone ran twice
    assert [c for name, c in runs.items() if name.startswith("land-lake-results")] == [1]
    assert not (tmp_path / ".patchtrail-spool" / str(state.state_details.flow_run_id)).exists()


def test_lake_flow_records_a_store_that_cannot_be_queried_and_lands_the_other(prefect_server, tmp_path):
    from patchtrail.flows.ingest_lake import ingest_lake_flow

    from patchtrail.devkit.lake_emulator.emulator import LakeEmulator

    simulate_to_dir(tmp_path / "data", accounts=1, regions=1, instances=3, days=20, seed=5)
    stores = [{"id": STORE_OK}, {"id": STORE_OFF, "status": "STOPPED_INGESTION"}]
    wh = str(tmp_path / "w.duckdb")
    with LakeEmulator(tmp_path / "data/lake-events/events.ndjson", stores=stores) as lake:
        state = ingest_lake_flow([{"id": STORE_OK}, {"id": STORE_OFF}], warehouse=wh,
                                 start="2026-01-01", end="2026-01-25", window="12d",
                                 endpoint_url=lake.endpoint_url, region="us-east-1", return_state=True)
    result = state.result()
    by_store = {q["event_data_store"]: [] for q in result["queries"]}
    for q in result["queries"]:
        by_store[q["event_data_store"]].append(q)
    assert [q["status"] for q in by_store[STORE_OK]] == ["FINISHED", "FINISHED"]
    assert [q["status"] for q in by_store[STORE_OFF]] == ["NOT_STARTED", "NOT_STARTED"]
    assert all("InactiveEventDataStoreException" in q["error"] for q in by_store[STORE_OFF])
    assert result["totals"]["objects_rejected"] == 2 and result["totals"]["items_landed"] > 0
    runs = task_runs(state.state_details.flow_run_id)
    assert all(count == 1 for name, count in runs.items() if name.startswith("query ")), runs
    with duckdb.connect(wh, read_only=True) as con:
        marks = dict(con.execute("select event_data_store, watermark from landing.lake_watermarks").fetchall())
    assert set(marks) == {STORE_OK}                  # the refused store will be queried again


def inject_get_object_faults(monkeypatch, module, *, transient_account: str, denied_account: str) -> dict:
    """Make the flow's S3 clients fail GetObject: 503 once per key of one account, 403 always for
    another. Returns the count of injected faults."""
    from botocore.awsrequest import AWSResponse

    real = module._client
    injected = {"503": 0, "403": 0}
    seen: set[str] = set()

    def fault(params, **_):
        key = params.get("url_path", "")            # the serialized request: /bucket/key
        if f"/{denied_account}/" in key:
            injected["403"] += 1
            return AWSResponse("", 403, {}, None), {
                "Error": {"Code": "AccessDenied", "Message": "injected"},
                "ResponseMetadata": {"HTTPStatusCode": 403}}
        if f"/{transient_account}/" in key and key not in seen:
            seen.add(key)
            injected["503"] += 1
            return AWSResponse("", 503, {}, None), {
                "Error": {"Code": "SlowDown", "Message": "injected"},
                "ResponseMetadata": {"HTTPStatusCode": 503}}
        return None

    def client(*args, **kwargs):
        made = real(*args, **kwargs)
        made.meta.events.register("before-call.s3.GetObject", fault)
        return made

    monkeypatch.setattr(module, "_client", client)
    return injected


def test_s3_flow_retries_only_the_failing_account(prefect_server, tmp_path, monkeypatch):
    import patchtrail.flows.ingest_s3 as module
    from moto.server import ThreadedMotoServer

    from patchtrail.aws import AwsEndpoints
    from patchtrail.devkit.s3_upload import upload_tree
    from patchtrail.sources import s3

    no_delay(monkeypatch, module, "fetch_group")
    simulate_to_dir(tmp_path / "data", accounts=3, regions=1, instances=2, days=6, seed=9)
    shutil.rmtree(tmp_path / "data/lake-export")   # Config delivery files only: one account each
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        bucket = f"org-config-{uuid.uuid4().hex[:12]}"
        client = s3.make_client(AwsEndpoints(s3_endpoint_url=url))
        upload_tree(tmp_path / "data", bucket, "", client, create_bucket=True)
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
        accounts = sorted({s3.key_parts(f"s3://{bucket}/{k}")[0] for k in keys})
        transient, denied, fine = accounts[:3]
        injected = inject_get_object_faults(monkeypatch, module, transient_account=transient,
                                            denied_account=denied)
        wh = str(tmp_path / "w.duckdb")
        state = module.ingest_s3_flow(f"s3://{bucket}", warehouse=wh, endpoint_url=url,
                                      region="us-east-1", return_state=True)
        result = state.result()
        runs = task_runs(state.state_details.flow_run_id)
        monkeypatch.undo()
        again = module.ingest_s3_flow(f"s3://{bucket}", warehouse=wh, endpoint_url=url, region="us-east-1")
    finally:
        server.stop()
    fetches = {name.split()[1].split("/")[0]: count for name, count in runs.items() if name.startswith("fetch ")}
    assert fetches == {transient: 2, denied: 1, fine: 1}, runs
    read = Counter(s3.key_parts(o["uri"])[0] for o in result["objects"])
    assert set(read) == {transient, denied, fine}
    assert injected["503"] == read[transient]        # each of its objects failed once, then landed
    by_status = {status: Counter(s3.key_parts(o["uri"])[0] for o in result["objects"] if o["status"] == status)
                 for status in ("landed", "rejected")}
    assert by_status["rejected"] == {denied: read[denied]}
    assert by_status["landed"] == {transient: read[transient], fine: read[fine]}
    assert all("access denied" in o["error"] for o in result["objects"] if o["status"] == "rejected")
    # the denied objects were recorded without their ETag: the next run reads them
    assert again["totals"]["objects_read"] == read[denied]
    assert again["totals"]["objects_rejected"] == 0 and again["totals"]["items_landed"] > 0


def test_lake_flow_cancels_a_window_past_its_timeout_without_retrying_it(prefect_server, tmp_path):
    from patchtrail.flows.ingest_lake import ingest_lake_flow

    from patchtrail.devkit.lake_emulator.emulator import LakeEmulator

    simulate_to_dir(tmp_path / "data", accounts=1, regions=1, instances=3, days=20, seed=6)
    wh = str(tmp_path / "w.duckdb")
    with LakeEmulator(tmp_path / "data/lake-events/events.ndjson", store_id=STORE_OK) as lake:
        lake.faults.slow_next(60)                    # the first window's query hangs
        state = ingest_lake_flow([{"id": STORE_OK}], warehouse=wh, start="2026-01-01",
                                 end="2026-01-25", window="12d", max_concurrency=1, timeout=5,
                                 endpoint_url=lake.endpoint_url, region="us-east-1", return_state=True)
        cancelled_on_endpoint = [q for q in lake.client().list_queries(EventDataStore=STORE_OK)["Queries"]
                                 if q["QueryStatus"] == "CANCELLED"]
    result = state.result()
    assert [q["status"] for q in result["queries"]] == ["CANCELLED", "FINISHED"]
    assert "did not finish within 5" in result["queries"][0]["error"]
    runs = task_runs(state.state_details.flow_run_id)
    assert sorted(c for name, c in runs.items() if name.startswith("query ")) == [1, 1], runs
    assert len(cancelled_on_endpoint) == 1           # CancelQuery reached the endpoint
    with duckdb.connect(wh, read_only=True) as con:
        marks = con.execute("select count(*) from landing.lake_watermarks").fetchone()[0]
    assert marks == 0                                # the first window holds the watermark
