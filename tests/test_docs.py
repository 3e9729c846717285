"""The docs match the code: CLI reference, warehouse columns, README commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from patchtrail.cli_docs import COMMANDS, render
from patchtrail.warehouse import apply_schema, connect

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current():
    assert (ROOT / "docs/cli.md").read_text() == render(), (
        "docs/cli.md is stale: run python -m patchtrail.cli_docs > docs/cli.md")


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for command in COMMANDS:
        assert f"`patchtrail {' '.join(command)}" in readme, command


def _documented() -> dict[str, list[str] | str]:
    """object name -> its documented columns, or the name of the object it mirrors."""
    sections = re.split(r"^### ", (ROOT / "docs/warehouse.md").read_text(), flags=re.M)[1:]
    documented: dict[str, list[str] | str] = {}
    for section in sections:
        section = section.split("\n## ", 1)[0]
        name = section.split("\n", 1)[0].split("(")[0].strip()
        same = re.search(r"same\s+columns\s+as\s+`([\w.]+)`", section)
        rows = re.findall(r"^\| (\w+) \| [\w\[\]]+ \|", section, flags=re.M)
        documented[name] = same.group(1) if same else [r for r in rows if r != "column"]
    return documented


@pytest.fixture(scope="module")
def schema():
    con = connect(":memory:")
    apply_schema(con)
    yield con
    con.close()


def _columns(con, name: str) -> list[str]:
    if name in ("marts.instance_compliance_as_of", "marts.patch_state_as_of"):
        return [d[0] for d in con.execute(f"select * from {name}(now()) limit 0").description]  # noqa: S608
    schema, table = name.split(".")
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table]).fetchall()]


def test_every_table_and_view_is_documented_column_by_column(schema):
    documented = _documented()
    objects = [f"{s}.{t}" for s, t in schema.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('landing', 'staging', 'history', 'marts')").fetchall()]
    assert sorted(set(objects) - set(documented)) == []
    for name, columns in documented.items():
        actual = _columns(schema, name)
        expected = _columns(schema, columns) if isinstance(columns, str) else columns
        assert actual == expected, name
