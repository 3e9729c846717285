"""Lake emulator API: paging, errors, life cycle, fault injection, HTTP details, serve()."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from datetime import timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from lakekit import WINDOW_END, WINDOW_START, error_code, make_event, patch, rows_of, run, wait

from patchtrail.devkit.lake_emulator import emulator as emulator_module
from patchtrail.devkit.lake_emulator.emulator import DEFAULT_STORE_ID, LakeEmulator
from patchtrail.errors import InvalidInput
from patchtrail.sources import lake_queries as queries

pytestmark = pytest.mark.service("lake")

EXTRACT = "extract_patch_compliance"


def extraction(store_id: str) -> str:
    return queries.render(EXTRACT, event_data_store=store_id, start=WINDOW_START, end=WINDOW_END)


@pytest.fixture
def own_lake(events):
    """A private emulator, for tests that arm faults or change limits."""
    with LakeEmulator(events, max_concurrent_queries=3) as emulator:
        yield emulator


def test_default_store_is_a_lowercase_uuid_and_configurable(events):
    assert DEFAULT_STORE_ID == str(uuid.UUID(DEFAULT_STORE_ID))
    with LakeEmulator(events, store_id="11111111-2222-4333-8444-555555555555") as emulator:
        stores = emulator.client().list_event_data_stores()["EventDataStores"]
        assert [s["EventDataStoreArn"].rsplit("/", 1)[1] for s in stores] == [emulator.store_id]


def test_paging_with_max_query_results(client, lake):
    query_id = client.start_query(QueryStatement=extraction(lake.store_id))["QueryId"]
    wait(client, query_id)
    first = client.get_query_results(QueryId=query_id, MaxQueryResults=3)
    assert first["QueryStatistics"]["ResultsCount"] == 3
    assert first["QueryStatistics"]["TotalResultsCount"] == 7
    assert first["QueryStatistics"]["BytesScanned"] > 0
    assert 4 <= len(first["NextToken"]) <= 1000
    paged = rows_of(client, query_id, page_size=3)
    assert paged == rows_of(client, query_id) and len(paged) == 7
    last = client.get_query_results(QueryId=query_id, MaxQueryResults=7)
    assert "NextToken" not in last


def test_next_token_is_bound_to_its_query(client, lake):
    first = client.start_query(QueryStatement=extraction(lake.store_id))["QueryId"]
    second = client.start_query(QueryStatement=extraction(lake.store_id))["QueryId"]
    wait(client, first), wait(client, second)
    token = client.get_query_results(QueryId=first, MaxQueryResults=1)["NextToken"]
    for query_id, bad_token in [
        (second, token),
        (first, "bm90LWEtdG9rZW4="),
        (first, token[:-2] + "zz"),
    ]:
        with pytest.raises(ClientError) as caught:
            client.get_query_results(QueryId=query_id, NextToken=bad_token)
        assert error_code(caught) == "InvalidNextTokenException"


def test_max_query_results_out_of_range(client, lake):
    query_id = client.start_query(QueryStatement=extraction(lake.store_id))["QueryId"]
    wait(client, query_id)
    with pytest.raises(ClientError) as caught:
        client.get_query_results(QueryId=query_id, MaxQueryResults=1001)
    assert error_code(caught) == "InvalidMaxResultsException"
    unchecked = lake.client(parameter_validation=False, retries={"total_max_attempts": 1})
    with pytest.raises(ClientError) as caught:
        unchecked.get_query_results(QueryId=query_id, MaxQueryResults=0)
    assert error_code(caught) == "InvalidMaxResultsException"


def test_describe_query_statistics_and_list_queries(client, lake):
    statement = extraction(lake.store_id)
    query_id = client.start_query(QueryStatement=statement)["QueryId"]
    described = wait(client, query_id)
    assert described["QueryString"] == statement and described["QueryId"] == query_id
    stats = described["QueryStatistics"]
    assert stats["EventsScanned"] == 9 and stats["EventsMatched"] == 7
    assert stats["BytesScanned"] == sum(
        len(json.dumps(e, separators=(",", ":")).encode()) for e in _events(lake)
    )
    assert stats["ExecutionTimeInMillis"] >= 0 and stats["CreationTime"].year >= 2025
    listed = client.list_queries(EventDataStore=lake.store_id, QueryStatus="FINISHED")["Queries"]
    assert query_id in {q["QueryId"] for q in listed}
    arn = client.get_event_data_store(EventDataStore=lake.store_id)["EventDataStoreArn"]
    page = client.list_queries(EventDataStore=arn, MaxResults=1)
    assert len(page["Queries"]) == 1 and "NextToken" in page


def _events(lake):
    from lakekit import standard_events

    return standard_events()


def test_event_data_store_operations(client, lake):
    store = client.get_event_data_store(EventDataStore=lake.store_id)
    assert store["Status"] == "ENABLED" and store["Name"]
    assert store["EventDataStoreArn"] == (
        f"arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/{lake.store_id}"
    )
    assert store["AdvancedEventSelectors"][0]["FieldSelectors"][0]["Equals"] == [
        "ConfigurationItem"
    ]
    assert (
        client.get_event_data_store(EventDataStore=store["EventDataStoreArn"])["Name"]
        == store["Name"]
    )
    for ref, code in [
        ("arn:aws:cloudtrail:us-east-1:1:eventdatastore/x", "EventDataStoreARNInvalidException"),
        ("00000000-0000-4000-8000-00000000dead", "EventDataStoreNotFoundException"),
    ]:
        with pytest.raises(ClientError) as caught:
            client.get_event_data_store(EventDataStore=ref)
        assert error_code(caught) == code
    with pytest.raises(ClientError) as caught:
        client.list_event_data_stores(MaxResults=1001)
    assert error_code(caught) == "InvalidMaxResultsException"


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("select * from 00000000-0000-4000-8000-00000000dead", "EventDataStoreNotFoundException"),
        ("select * from config_event_data_store_ID", "EventDataStoreNotFoundException"),
        ("delete from {eds}", "InvalidQueryStatementException"),
        ("select from where {eds}", "InvalidQueryStatementException"),
        ("with x as (select 1) select * from {eds}", "InvalidQueryStatementException"),
        ("select 1 from {eds}; select 2 from {eds}", "InvalidQueryStatementException"),
        ("select 1", "InvalidQueryStatementException"),
        ("select 1 from {eds} where x = 'unterminated", "InvalidQueryStatementException"),
        ("select 1 from {eds} " + "-" * 10001, "InvalidParameterException"),
    ],
)
def test_start_query_refuses_bad_statements(client, lake, statement, code):
    with pytest.raises(ClientError) as caught:
        client.start_query(QueryStatement=statement.format(eds=lake.store_id))
    assert error_code(caught) == code


@pytest.mark.parametrize(
    "statement",
    [
        "select no_such_function(eventJson) from {eds}",
        "select no_such_column from {eds}",
        "select try(1) from {eds}",
        "select json_parse('not json') from {eds}",
    ],
)
def test_queries_the_engine_cannot_run_end_failed(client, lake, statement):
    described, rows = run(client, statement.format(eds=lake.store_id))
    assert described["QueryStatus"] == "FAILED" and rows == []
    assert 4 <= len(described["ErrorMessage"]) <= 1000
    result = client.get_query_results(QueryId=described["QueryId"])
    assert result["QueryStatus"] == "FAILED" and result["ErrorMessage"] == described["ErrorMessage"]


def test_unknown_and_expired_query_ids(own_lake):
    client = own_lake.client(retries={"total_max_attempts": 1})
    unknown = str(uuid.uuid4())
    for call in (client.describe_query, client.get_query_results, client.cancel_query):
        with pytest.raises(ClientError) as caught:
            call(QueryId=unknown)
        assert error_code(caught) == "QueryIdNotFoundException"
    query_id = client.start_query(QueryStatement=extraction(own_lake.store_id))["QueryId"]
    wait(client, query_id)
    own_lake.faults.expire(query_id)
    with pytest.raises(ClientError) as caught:
        client.get_query_results(QueryId=query_id)
    assert error_code(caught) == "QueryIdNotFoundException"


def test_cancel_running_query_then_cancel_again(own_lake):
    client = own_lake.client(retries={"total_max_attempts": 1})
    own_lake.faults.slow_next(5)
    query_id = client.start_query(QueryStatement=extraction(own_lake.store_id))["QueryId"]
    assert client.describe_query(QueryId=query_id)["QueryStatus"] in ("QUEUED", "RUNNING")
    assert client.cancel_query(QueryId=query_id)["QueryStatus"] == "CANCELLED"
    assert wait(client, query_id, timeout=2)["QueryStatus"] == "CANCELLED"
    assert client.get_query_results(QueryId=query_id)["QueryResultRows"] == []
    with pytest.raises(ClientError) as caught:
        client.cancel_query(QueryId=query_id)
    assert error_code(caught) == "InactiveQueryException"


def test_at_most_n_concurrent_queries(own_lake):
    client = own_lake.client(retries={"total_max_attempts": 1})
    own_lake.faults.slow_next(5, count=3)
    running = [
        client.start_query(QueryStatement=extraction(own_lake.store_id))["QueryId"]
        for _ in range(3)
    ]
    with pytest.raises(ClientError) as caught:
        client.start_query(QueryStatement=extraction(own_lake.store_id))
    assert error_code(caught) == "MaxConcurrentQueriesException"
    client.cancel_query(QueryId=running[0])
    wait(client, running[0])
    extra = client.start_query(QueryStatement=extraction(own_lake.store_id))["QueryId"]
    for query_id in running[1:]:
        client.cancel_query(QueryId=query_id)
    assert wait(client, extra)["QueryStatus"] == "FINISHED"


def test_injected_max_concurrent_fails_only_the_next_starts(own_lake):
    client = own_lake.client(retries={"total_max_attempts": 1})
    own_lake.faults.max_concurrent_next(2)
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            client.start_query(QueryStatement=extraction(own_lake.store_id))
        assert error_code(caught) == "MaxConcurrentQueriesException"
    client.start_query(QueryStatement=extraction(own_lake.store_id))


def test_throttling_is_retried_by_botocore_standard_mode(own_lake):
    strict = own_lake.client(retries={"total_max_attempts": 1})
    own_lake.faults.throttle_next(1, operation="ListEventDataStores")
    with pytest.raises(ClientError) as caught:
        strict.list_event_data_stores()
    assert error_code(caught) == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    strict.list_event_data_stores()  # the fault is used up
    patient = own_lake.client(retries={"mode": "standard", "total_max_attempts": 3})
    own_lake.faults.throttle_next(1)
    reply = patient.list_event_data_stores()
    assert reply["ResponseMetadata"]["RetryAttempts"] == 1


@pytest.mark.parametrize(
    ("arm", "status", "message"),
    [
        (lambda f: f.fail_next("Query failed: injected"), "FAILED", "Query failed: injected"),
        (
            lambda f: f.time_out_next("Query timed out: injected"),
            "TIMED_OUT",
            "Query timed out: injected",
        ),
    ],
)
def test_forced_query_outcomes(own_lake, arm, status, message):
    client = own_lake.client(retries={"total_max_attempts": 1})
    arm(own_lake.faults)
    described, rows = run(client, extraction(own_lake.store_id))
    assert (described["QueryStatus"], described["ErrorMessage"], rows) == (status, message, [])
    assert run(client, extraction(own_lake.store_id))[0]["QueryStatus"] == "FINISHED"


def test_slow_query_stays_running_then_finishes(own_lake):
    client = own_lake.client(retries={"total_max_attempts": 1})
    own_lake.faults.slow_next(0.4)
    began = time.monotonic()
    query_id = client.start_query(QueryStatement=extraction(own_lake.store_id))["QueryId"]
    assert client.get_query_results(QueryId=query_id)["QueryStatus"] in ("QUEUED", "RUNNING")
    assert wait(client, query_id)["QueryStatus"] == "FINISHED"
    assert time.monotonic() - began >= 0.4


def test_query_timeout_ends_timed_out(events):
    with LakeEmulator(events, query_timeout=0.2, query_delay=5) as emulator:
        client = emulator.client(retries={"total_max_attempts": 1})
        described, _ = run(client, extraction(emulator.store_id))
        assert described["QueryStatus"] == "TIMED_OUT" and "timeout" in described["ErrorMessage"]


def test_stores_have_their_own_events_and_status(events):
    stores = [
        {
            "id": "aaaaaaaa-0000-4000-8000-000000000001",
            "events": [
                make_event(
                    "only", "2026-03-02T00:00:00Z", "i-01234567", patches=[patch("KB9", "Missing")]
                )
            ],
        },
        {"id": "bbbbbbbb-0000-4000-8000-000000000002", "status": "STOPPED_INGESTION"},
    ]
    with LakeEmulator(events, stores=stores) as emulator:
        client = emulator.client(retries={"total_max_attempts": 1})
        _, rows = run(client, extraction(stores[0]["id"]))
        assert [r["eventId"] for r in rows] == ["only"]
        with pytest.raises(ClientError) as caught:
            client.start_query(QueryStatement=extraction(stores[1]["id"]))
        assert error_code(caught) == "InactiveEventDataStoreException"
        assert len(client.list_event_data_stores()["EventDataStores"]) == 2


def test_events_from_an_ndjson_file(tmp_path, events):
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n\n")
    with LakeEmulator(path) as emulator:
        _, rows = run(emulator.client(), extraction(emulator.store_id))
        assert len(rows) == 7
    path.write_text('{"eventID": "x"}\nnot json\n')
    with pytest.raises(ValueError, match="events.ndjson:2"):
        LakeEmulator(path)


def test_http_details_and_fault_control_call(own_lake):
    def post(path, body, target=None):
        request = urllib.request.Request(
            own_lake.endpoint_url + path, data=json.dumps(body).encode(), method="POST"
        )
        request.add_header("Content-Type", "application/x-amz-json-1.1")
        if target:
            request.add_header("X-Amz-Target", target)
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())

    status, headers, body = post("/", {}, emulator_module.TARGET_PREFIX + "ListEventDataStores")
    assert status == 200 and headers["Content-Type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-RequestId"] and body["EventDataStores"]
    status, _, body = post("/", {}, "Nope.ListEventDataStores")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, _, body = post("/_emulator/faults", {"action": "throttle_next", "args": {"count": 1}})
    assert status == 200
    with pytest.raises(ClientError) as caught:
        own_lake.client(retries={"total_max_attempts": 1}).list_event_data_stores()
    assert error_code(caught) == "ThrottlingException"
    status, _, body = post("/_emulator/faults", {"action": "__init__"})
    assert (status, body["__type"]) == (400, "InvalidParameterException")


def test_unmodified_boto3_client_with_endpoint_url(lake):
    client = boto3.client(
        "cloudtrail",
        endpoint_url=lake.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert client.list_event_data_stores()["EventDataStores"][0]["Name"]


def test_serve_prints_the_endpoint_and_stops(tmp_path, events, monkeypatch, capsys):
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in events))
    monkeypatch.setattr(LakeEmulator, "wait", lambda self: None)
    emulator_module.serve(path, 0)
    assert "CloudTrail Lake emulator at http://127.0.0.1:" in capsys.readouterr().err


def test_list_queries_filters_and_errors(own_lake):
    client = own_lake.client(retries={"total_max_attempts": 1})
    query_id = client.start_query(QueryStatement=extraction(own_lake.store_id))["QueryId"]
    created = wait(client, query_id)["QueryStatistics"]["CreationTime"]
    second = timedelta(seconds=1)  # the wire carries whole epoch seconds
    listed = client.list_queries(
        EventDataStore=own_lake.store_id, StartTime=created - second, EndTime=created + second
    )
    assert [q["QueryId"] for q in listed["Queries"]] == [query_id]
    later = client.list_queries(EventDataStore=own_lake.store_id, StartTime=created + second)
    assert later["Queries"] == []
    with pytest.raises(ClientError) as caught:
        client.list_queries(
            EventDataStore=own_lake.store_id, StartTime=created, EndTime=created - 2 * second
        )
    assert error_code(caught) == "InvalidDateRangeException"
    with pytest.raises(ClientError) as caught:
        client.list_queries(EventDataStore=own_lake.store_id, QueryStatus="DONE")
    assert error_code(caught) == "InvalidQueryStatusException"


def test_hostile_parameters_never_reach_the_endpoint(own_lake):
    client = own_lake.client(retries={"total_max_attempts": 1})
    for hostile in ["i-0123456789abcdef0' or '1'='1", "i-0123456789abcdef0\n--", "і-01234567"]:
        with pytest.raises(InvalidInput):
            client.start_query(
                QueryStatement=queries.render(
                    "ssm-patch-compliance-selected-ec2-instance",
                    event_data_store=own_lake.store_id,
                    instance_id=hostile,
                )
            )
    assert client.list_queries(EventDataStore=own_lake.store_id)["Queries"] == []
