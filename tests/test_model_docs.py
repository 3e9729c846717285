"""The model files beside the SQL (sql/warehouse/**/*.yml) match the warehouse, and
docs/warehouse.md is what they render to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from loading import simulated_warehouse

from patchtrail import model_docs
from patchtrail.model_docs import Model, columns_of, load_models, render
from patchtrail.warehouse import apply_schema, connect
from patchtrail.warehouse.check import REBUILD_CHECK, SQL_CHECKS

ROOT = Path(__file__).resolve().parents[1]
MODELS = load_models()
SCHEMAS = ("landing", "staging", "history", "marts", "main", "meta")

#: Objects without a model file, and why. Anything else in the warehouse, or created by a file
#: under sql/warehouse, must have one.
NO_MODEL = {
    # Steps of the history build, not for analysts.
    "history.changed_instances": "internal: the instances a load changed",
    "history.recomputed_instance_compliance": "internal: a history rebuild step",
    "history.recomputed_patch_state": "internal: a history rebuild step",
    # Helpers of the marts.
    "marts.data_as_of": "scalar macro, documented in docs/analytics.md",
    "marts.is_non_compliant": "scalar macro, documented in docs/analytics.md",
    # The analytics table macros: documented in docs/analytics.md, not (yet) by model files.
    "marts.compliance_by_day": "docs/analytics.md",
    "marts.cve_exposure": "docs/analytics.md",
    "marts.instance_compliance_as_of_known": "docs/analytics.md",
    "marts.instance_compliance_known_at": "docs/analytics.md",
    "marts.missing_patches_as_of": "docs/analytics.md",
    "marts.patch_state_as_of_known": "docs/analytics.md",
    "marts.patch_state_known_at": "docs/analytics.md",
    "marts.remediation_episodes_as_of": "docs/analytics.md",
    "marts.scan_staleness": "docs/analytics.md",
    "marts.sla_breaches": "docs/analytics.md",
    "marts.sla_breaches_for": "docs/analytics.md",
    "marts.sla_status": "docs/analytics.md",
    "marts.sla_status_for": "docs/analytics.md",
    "marts.time_to_remediate_between": "docs/analytics.md",
    # Made by the code, or only in a published copy (docs/bi.md).
    "meta.schema_version": "internal: the fingerprint of the applied SQL (schema.py)",
    "meta.publication": "published copies only, docs/bi.md",
    "meta.warehouse_identity": "published warehouses only, docs/bi.md",
}
_CREATE = re.compile(
    r"^create\s+(?:or\s+replace\s+)?(table|view|macro)\s+(?:if\s+not\s+exists\s+)?([\w.]+)",
    re.I | re.M)


@pytest.fixture(scope="module")
def con():
    con = connect(":memory:")
    apply_schema(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """A small real warehouse: a simulated fleet, landed from Config files and then Lake copies."""
    con = connect(simulated_warehouse(tmp_path_factory.mktemp("model_docs")), read_only=True)
    yield con
    con.close()


def _relation(model: Model, *args: str) -> str:
    """What to select from: the object, or the macro called with `args`."""
    return f"{model.name}({', '.join(args)})" if model.kind == "macro" else model.name


def _duckdb_type(name: str) -> str:
    """A DuckDB type as the model files spell it (lower case, timestamptz)."""
    return name.lower().replace("timestamp with time zone", "timestamptz")


def _actual_columns(con, model: Model) -> list[tuple[str, str]]:
    relation = _relation(model, *(f"null::{p.type}" for p in model.parameters))
    rows = con.execute(f"describe select * from {relation}").fetchall()  # noqa: S608 (names from the models)
    return [(r[0], _duckdb_type(r[1])) for r in rows]


def _qualified(name: str) -> str:
    return name if "." in name else f"main.{name}"


def test_the_page_is_generated():
    assert (ROOT / "docs/warehouse.md").read_text() == render(), (
        "docs/warehouse.md is stale: run python -m patchtrail.model_docs --write")


def test_check_flag_fails_on_a_stale_page(tmp_path, capsys):
    page = tmp_path / "warehouse.md"
    page.write_text(render())
    assert model_docs.main(["--check", "--path", str(page)]) == 0
    page.write_text(render().replace("| ci_id | varchar |", "| ci_id | bigint |", 1))
    assert model_docs.main(["--check", "--path", str(page)]) == 1
    assert "+| ci_id | varchar |" in capsys.readouterr().out


def test_every_model_is_rendered_once():
    names = model_docs.rendered_names()
    assert sorted(names) == sorted(MODELS), "each model appears once in warehouse.md.tmpl"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_columns_are_the_objects(con, name):
    model = MODELS[name]
    expected = [(c.name, c.type) for c in columns_of(model)]
    assert _actual_columns(con, model) == expected, (
        f"{model.path.name}: columns (name, type, in order) differ from {name} in a new warehouse")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_kind_and_parameters_are_the_objects(con, name):
    model = MODELS[name]
    schema, obj = _qualified(name).split(".")
    tables = con.execute("select table_type from information_schema.tables "
                         "where table_schema = ? and table_name = ?", [schema, obj]).fetchall()
    macros = con.execute("select parameters from duckdb_functions() where function_type = 'table_macro' "
                         "and schema_name = ? and function_name = ?", [schema, obj]).fetchall()
    if model.kind == "macro":
        assert tables == [] and macros == [([p.name for p in model.parameters],)], name
    else:
        assert macros == [] and tables == [({"table": "BASE TABLE", "view": "VIEW"}[model.kind],)], name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_key_and_grain(name):
    model = MODELS[name]
    columns = [c.name for c in columns_of(model)]
    assert model.grain and not model.grain.endswith("."), name
    assert [k for k in model.key if k not in columns] == [], f"{name}: key columns not in its columns"
    assert len(set(model.key)) == len(model.key), name


@pytest.mark.parametrize("name", sorted(n for n, m in MODELS.items() if m.key))
def test_the_key_is_unique_in_a_real_warehouse(simulated, name):
    model = MODELS[name]
    assert all(p.type == "timestamptz" for p in model.parameters), "give the macro's arguments here"
    relation = _relation(model, *("now()" for _ in model.parameters))
    key = ", ".join(model.key)
    duplicates = simulated.execute(
        f"select {key}, count(*) as rows from {relation} group by all having count(*) > 1 limit 5"  # noqa: S608
    ).fetchall()
    assert duplicates == [], f"{name}: key ({key}) is not unique"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_model_sits_beside_the_sql_that_creates_it(name):
    model = MODELS[name]
    sql = model.path.with_suffix(".sql")
    assert sql.exists(), f"{model.path}: no {sql.name} beside it"
    created = [n for _, n in _CREATE.findall(sql.read_text())]
    assert name in created, f"{sql.name} creates {created}, not {name}"


def test_every_object_has_a_model(con):
    in_warehouse = {f"{s}.{t}" for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database()").fetchall()}
    in_warehouse |= {f"{s}.{f}" for s, f in con.execute(
        "select schema_name, function_name from duckdb_functions() "
        "where function_type in ('table_macro', 'macro') and not internal").fetchall()}
    in_sql = {_qualified(n) for path in (ROOT / "sql/warehouse").rglob("*.sql")
              for kind, n in _CREATE.findall(path.read_text())}
    objects = {n for n in in_warehouse | in_sql if n.split(".")[0] in SCHEMAS}
    modelled = {_qualified(n) for n in MODELS}
    assert sorted(objects - modelled - set(NO_MODEL)) == [], "objects without a model file"
    assert sorted(set(NO_MODEL) & modelled) == [], "listed as without a model, but it has one"
    assert sorted(set(NO_MODEL) - objects) == [], "listed as without a model, but it does not exist"


def test_invariants_are_the_checks():
    checks = {name for name, _ in SQL_CHECKS} | {REBUILD_CHECK[0]}
    named = {i for model in MODELS.values() for i in model.invariants}
    assert sorted(named - checks) == [], "models name invariants that patchtrail check does not test"
    assert sorted(checks - named) == [], "invariants of patchtrail check that no model names"
    for name in checks - {REBUILD_CHECK[0]}:
        assert (ROOT / f"sql/warehouse/check/{name}.sql").exists(), name
