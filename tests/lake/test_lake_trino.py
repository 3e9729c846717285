"""Trino -> DuckDB translation: token rewrites, FROM resolution, and Trino semantics kept in DuckDB."""

from __future__ import annotations

import json

import pytest

from patchtrail.devkit.lake_emulator.engine import EventTables, render_cell, run_query
from patchtrail.devkit.lake_emulator.trino import (
    InvalidStatement,
    UnsupportedSql,
    tokenize,
    translate,
)

EDS = "37382170-182d-42ed-9df9-5aaf0b4b9511"


def to_duckdb(sql: str, tables: dict[str, str] | None = None) -> str:
    tables = tables or {EDS: "lake_events_0"}
    sql = sql.replace("{eds}", EDS)

    def resolve(ref: str) -> str:
        if ref not in tables:
            raise LookupError(ref)
        return tables[ref]

    return translate(sql, resolve=resolve)


@pytest.fixture(scope="module")
def duck():
    """DuckDB with the translator's macros and one events table of three tiny events."""
    tables = EventTables()
    lines = [
        json.dumps(
            {
                "eventID": "a",
                "eventTime": "2026-01-01T00:00:00Z",
                "eventData": {
                    "resourceId": "AWS::SSM::ManagedInstanceInventory/i-01234567",
                    "configurationStateId": 5,
                    "configuration": {
                        "AWS:ComplianceItem": {
                            "Content": {
                                "Patch": {
                                    "ComplianceSummary": {"Status": "COMPLIANT"},
                                    "K1": {"Id": "K1", "PatchState": "Installed"},
                                    "K2": {"Id": "K2", "PatchState": "Missing"},
                                }
                            }
                        }
                    },
                },
            }
        ),
        json.dumps(
            {
                "eventID": "b",
                "eventTime": "2026-01-02T00:00:00.5+00:00",
                "eventData": {"resourceId": "x", "configuration": None},
            }
        ),
        json.dumps(
            {
                "eventID": "c",
                "eventTime": "2026-01-03T02:00:00+02:00",
                "eventData": {
                    "configuration": {"AWS:ComplianceItem": json.dumps({"Content": {"Patch": {}}})}
                },
            }
        ),
    ]
    tables.add("lake_events_0", lines)
    tables.seal()
    yield tables
    tables.close()


def query(duck, sql: str) -> list[list[str | None]]:
    cursor = duck.cursor()
    try:
        return run_query(cursor, to_duckdb(sql)).rows
    finally:
        cursor.close()


def test_string_literals_and_quoted_identifiers_are_never_rewritten():
    sql = "select 'x -> transform(a) from b; replace(c, d)' as \"transform(x)\", 'it''s' from {eds}"
    out = to_duckdb(sql)
    assert "'x -> transform(a) from b; replace(c, d)'" in out
    assert '"transform(x)"' in out and "'it''s'" in out


def test_lambdas_transform_and_two_argument_replace():
    out = to_duckdb(
        "select transform(filter(a, x -> x > 1), (v, i) -> v + i), "
        "replace(r, 'AWS::') , replace(r, 'a', 'b') from {eds}"
    )
    assert "list_transform(filter(a, lambda x: x > 1), lambda v, i: v + i)" in out
    assert "replace(r, 'AWS::', '')" in out and "replace(r, 'a', 'b')" in out
    assert "->" not in out


def test_casts_types_and_json_functions():
    out = to_duckdb(
        "select cast(json_extract(j, '$.a') as varchar), cast(x as map(varchar, json)), "
        "try_cast(y as array(row(a bigint, b varchar(3)))), cast(z as json), "
        "json_format(json_parse(s)), json_extract_scalar(j, '$[\"AWS:Item\"].b[0]'), "
        "element_at(m, 'k'), cast(t as timestamp(3) with time zone) from {eds}"
    )
    assert "trino_cast_varchar(json_extract(j, '$.a'))" in out
    assert "CAST(x AS MAP(VARCHAR, JSON))" in out
    assert "TRY_CAST(y AS STRUCT(a BIGINT, b VARCHAR)[])" in out
    assert "to_json(z)" in out
    assert "CAST(json(s) AS VARCHAR)" in out
    assert "trino_json_extract_scalar(j, '$.\"AWS:Item\".b[0]')" in out
    assert "(m)[ 'k']" in out
    assert "CAST(t AS TIMESTAMPTZ)" in out


def test_from_resolution_covers_subqueries_joins_comma_lists_and_arns():
    other = "00000000-0000-4000-8000-000000000002"
    arn = f"arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/{other}"
    statement = (
        "select extract(year from eventTime), trim(both 'x' from y) from (select * from {eds}) a "
        'join {arn} b on a.x = b.x, "{eds}" c cross join unnest(a.l) as t(v) where z in (1, 2)'
    )
    out = to_duckdb(statement.replace("{arn}", arn), {EDS: "lake_events_0", arn: "lake_events_1"})
    assert "from lake_events_0) a" in out and "join lake_events_1 b" in out
    assert ", lake_events_0 c cross join unnest(a.l)" in out
    assert "extract(year from eventTime)" in out and "trim(both 'x' from y)" in out


@pytest.mark.parametrize(
    "sql",
    [
        "select * from config_event_data_store_ID",
        "select * from information_schema.tables",
        'select * from "lake_events_0"',
        "select 1 from {eds}, lake_events_0",
    ],
)
def test_tables_other_than_known_stores_never_reach_duckdb(sql):
    with pytest.raises(LookupError):
        to_duckdb(sql)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("", "empty"),
        ("-- only a comment", "empty"),
        ("with a as (select 1) select * from {eds}", "WITH"),
        ("select * from (with a as (select 1) select * from a) x, {eds}", "WITH"),
        ("select 1 from {eds}; select 2 from {eds}", "one statement"),
        ("delete from {eds}", "only SELECT"),
        ("insert into x values (1)", "only SELECT"),
        ("pragma version", "only SELECT"),
        ("select 'abc from x", "unterminated string"),
        ("select /* x from y", "unterminated comment"),
        ("select (1 from {eds}", "unclosed"),
        ("select 1) from {eds}", "unbalanced"),
        ("select * from read_csv('/etc/passwd')", "table function"),
        ("select * from 'file.csv'", "event data store id"),
        ("select \u00e9 from {eds}", "unexpected character"),
    ],
)
def test_invalid_statements_are_refused(sql, message):
    with pytest.raises(InvalidStatement, match=message):
        to_duckdb(sql)


@pytest.mark.parametrize(
    "sql", ["select try(1) from {eds}", "select cast(x as ipaddress) from {eds}"]
)
def test_unsupported_trino_is_reported(sql):
    with pytest.raises(UnsupportedSql):
        to_duckdb(sql)


def test_trailing_semicolon_and_comments_are_dropped():
    out = to_duckdb("-- header\nselect 1 /* inline */ from {eds} ;  \n")
    assert out == "select 1   from lake_events_0"


def test_tokens_cover_the_text():
    sql = "select a->b, 'x''y', \"q\"\"r\", 1.5e3 from t -- end"
    assert "".join(t.text for t in tokenize(sql)) == sql


def test_cast_json_to_varchar_is_unquoted_like_trino(duck):
    rows = query(
        duck,
        "select cast(json_extract(json_parse(eventJson), '$.eventID') as varchar), "
        "cast(json_extract(json_parse(eventJson), '$.eventData.configurationStateId') as varchar) "
        "from {eds} where eventID = 'a'",
    )
    assert rows == [["a", "5"]]


def test_json_extract_does_not_descend_into_a_json_string(duck):
    rows = query(
        duck,
        "select eventID, map_values(cast(json_extract(json_parse(eventJson), "
        "'$.eventData.configuration.AWS:ComplianceItem.Content.Patch') as map(varchar, json))) "
        "from {eds} order by eventID",
    )
    assert rows[0][0] == "a" and json.loads(rows[0][1])[1] == {
        "Id": "K1",
        "PatchState": "Installed",
    }
    assert rows[1] == ["b", None] and rows[2] == ["c", None]


def test_json_null_configuration_is_the_json_value_null(duck):
    rows = query(
        duck,
        "select json_format(json_extract(json_parse(eventJson), '$.eventData.configuration')) "
        "from {eds} where eventID = 'b'",
    )
    assert rows == [["null"]]  # Trino's json_extract gives JSON null, not SQL NULL


def test_json_extract_scalar_is_null_for_objects(duck):
    rows = query(
        duck,
        "select json_extract_scalar(json_parse(eventJson), '$.eventData'), "
        "json_extract_scalar(json_parse(eventJson), '$.eventData.configurationStateId') "
        "from {eds} where eventID = 'a'",
    )
    assert rows == [[None, "5"]]


def test_event_time_compares_with_string_literals_and_renders_with_millis(duck):
    rows = query(
        duck,
        "select eventID, eventTime from {eds} where eventTime > '2026-01-01 00:00:00' "
        "and eventtime < '2026-01-03 00:00:00.001' order by eventTime",
    )
    assert rows == [["b", "2026-01-02 00:00:00.500"], ["c", "2026-01-03 00:00:00.000"]]


def test_identifiers_are_case_insensitive_and_element_at_is_scalar(duck):
    rows = query(
        duck,
        "select EVENTDATA.RESOURCEID, element_at(eventdata.configuration, 'AWS:ComplianceItem'), "
        "element_at(array[1, 2, 3], -1) from {eds} where eventID = 'c'",
    )
    assert rows == [[None, '{"Content": {"Patch": {}}}', "3"]]


def test_aggregates_and_window_functions_run(duck):
    rows = query(duck, "select count(*) as n, cardinality(array_agg(eventID)) as m from {eds}")
    assert rows == [["3", "3"]]
    rows = query(
        duck, "select eventID, rank() over (order by eventTime desc) as r from {eds} order by r"
    )
    assert rows == [["c", "1"], ["b", "2"], ["a", "3"]]


def test_nested_values_render_as_json_arrays_and_java_style_structs(duck):
    cursor = duck.cursor()
    relation = cursor.sql(
        "select [1, 2] as a, {'x': 1, 'Y': [NULL, 'q']} as s, "
        "map {'k': TIMESTAMP '2026-01-01 00:00:00'} as m, true as b"
    )
    row, types = relation.fetchall()[0], relation.types
    cells = [render_cell(v, t) for v, t in zip(row, types, strict=True)]
    assert cells == ["[1,2]", "{x=1, y=[null, q]}", "{k=2026-01-01 00:00:00.000}", "true"]
    cursor.close()
