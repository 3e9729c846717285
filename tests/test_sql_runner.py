"""The SQL runner (patchtrail.warehouse.sql) and the schema build order derived from the files."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from patchtrail.warehouse import sql
from patchtrail.warehouse.schema import (
    SchemaOrderError,
    apply_schema,
    build_order,
    created_objects,
    references,
    schema_fingerprint,
    schema_objects,
)


def test_statements_are_split_by_duckdb_not_by_semicolons_in_text():
    text = ("-- a header; with a semicolon\n"
            "create table t (a int); -- a trailing comment; too\n"
            "insert into t select 1 where ';' <> $x;\n"
            "/* a block; comment */ select * from t\n"
            "-- a last comment\n")
    found = sql.statements(text)
    assert [s.type.name for s in found] == ["CREATE", "INSERT", "SELECT"]
    assert [sorted(s.named_parameters) for s in found] == [[], ["x"], []]
    assert sql.statements("-- comments only; nothing to run\n") == []


def test_bound_takes_exactly_the_parameters_a_statement_uses():
    assert sql.bound("select $a, '$b' as text -- $c", {"a": 1, "b": 2, "c": 3, "d": 4}) == {"a": 1}
    assert sql.bound("select 1", {"a": 1}) is None
    with pytest.raises(ValueError, match=r"x\.sql needs parameters \$a, \$b"):
        sql.bound("select $b, $a", {}, name="x.sql")


def test_run_binds_each_statement_and_names_a_missing_parameter():
    con = duckdb.connect()
    apply_schema(con)
    sql.run(con, "landing/loads")  # no parameters; idempotent
    with pytest.raises(ValueError, match=r"history/merge_scope\.sql needs parameter \$from_load"):
        sql.run(con, "history/merge_scope")
    assert sql.rows(con, "summary/top_accounts", top=5, unused="ignored") == []
    relation = sql.query(con, "marts/evidence/fingerprint", known_at="infinity")
    assert relation.columns[0] == "items" and len(relation.fetchall()) == 1
    with pytest.raises(ValueError, match="holds 2 statements"):
        sql.query(con, "landing/unstage_conflicts")


def test_load_refuses_a_name_outside_sql():
    with pytest.raises(ValueError, match="escapes"):
        sql.load("../../pyproject")


def test_the_derived_order_puts_every_object_after_what_it_references():
    order = schema_objects()
    creates = created_objects()
    assert order[0] == "schemas" and set(order) == set(creates) and len(order) == len(set(order))
    position = {name: i for i, name in enumerate(order)}
    for name in order:
        for needed in references(name, creates):
            assert position[needed] < position[name], f"{name} before {needed}"
    # the files of the four layers that create an object; steps and queries are not objects
    assert {"history/patch_state", "marts/sla_breaches", "landing/item_conflicts"} <= set(order)
    assert not {"history/merge_scope", "landing/land_batch", "marts/refresh_patch_lists_by_load",
                "landing/conflict_winners", "staging/restage_items"} & set(order)
    assert creates["history/patch_state"] == "history.patch_state"
    assert creates["marts/ssm-patch-compliance-all-ec2-instances"] == \
        "main.ssm_patch_compliance_all_ec2_instances"


def _catalog(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {f"{s}.{n}" for s, n in con.execute(
        "select schema_name, table_name from duckdb_tables() union all "
        "select schema_name, view_name from duckdb_views() where not internal union all "
        "select schema_name, function_name from duckdb_functions() "
        "where function_type like '%macro' and not internal").fetchall()}


def test_the_derived_order_builds_every_object_and_the_references_are_enough():
    """Built in the derived order, every object exists. Built in another order the references
    allow (ties broken the other way round), the warehouse is the same: the references found in
    the files are all the order needs."""
    creates = created_objects()
    con = duckdb.connect()
    apply_schema(con)
    made = _catalog(con)
    assert {o for o in creates.values() if "." in o} <= made
    needs = {n: references(n, creates) for n in creates}
    other = build_order(needs, rank={n: (0, "") if n == "schemas" else (1, "".join(
        chr(0x10FFFF - ord(c)) for c in n)) for n in creates})
    assert other != schema_objects()
    con = duckdb.connect()
    for name in other:
        sql.run(con, name)
    assert _catalog(con) == made - {"meta.schema_version"}
    assert schema_objects() == build_order(needs, rank={n: (0, "") if n == "schemas" else (
        1 + ["landing", "staging", "history", "marts"].index(n.split("/")[0]), n) for n in creates})
    assert len(schema_fingerprint()) == 64


def test_build_order_is_topological_with_a_stable_tie_break_and_refuses_cycles():
    needs = {"s": set(), "b": {"s"}, "a": {"s", "c"}, "c": {"s"}}
    rank = {n: (0 if n == "s" else 1, n) for n in needs}
    assert build_order(needs, rank=rank) == ("s", "b", "c", "a")
    with pytest.raises(SchemaOrderError, match="cycle: a, c"):
        build_order({"s": set(), "a": {"c"}, "c": {"a"}}, rank=rank)


def test_a_reference_to_an_object_no_file_creates_is_an_error(monkeypatch):
    monkeypatch.setattr(sql, "load", lambda name: "create view marts.x as select * from history.nope")
    with pytest.raises(SchemaOrderError, match="references history.nope, which no schema file creates"):
        references("marts/x", {"schemas": "", "marts/x": "marts.x", "history/h": "history.h"})


def test_the_fingerprint_changes_with_any_schema_file(tmp_path, monkeypatch):
    """A warehouse at this version skips the schema, so the fingerprint must change when any
    file the build order is made from changes (here: one view, a layer deep)."""
    from patchtrail.constants import SQL_DIR
    from patchtrail.warehouse import schema

    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    monkeypatch.setattr(schema, "SQL_DIR", copy)
    schema.schema_fingerprint.cache_clear()
    try:
        before = schema.schema_fingerprint()
        view = copy / "warehouse" / "marts" / "fleet_summary.sql"
        view.write_text(view.read_text() + "\n-- changed\n")
        schema.schema_fingerprint.cache_clear()
        assert schema.schema_fingerprint() != before
    finally:
        schema.schema_fingerprint.cache_clear()
