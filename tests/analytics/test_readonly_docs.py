"""The worked queries of docs/analytics.md pass `patchtrail sql`'s check and run on a locked reader."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from patchtrail.warehouse.connect import connect_reader
from patchtrail.warehouse.readonly import analyst_statement

DOC = (Path(__file__).resolve().parents[2] / "docs" / "analytics.md").read_text()
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.split("## Worked queries", 1)[1].split("\n## ", 1)[0],
                     flags=re.S)


@pytest.fixture(scope="module")
def reader(warehouse_path):
    con = connect_reader(warehouse_path)
    yield con
    con.close()


@pytest.mark.parametrize("number", range(1, len(QUERIES) + 1))
def test_worked_query_is_one_query_that_a_reader_runs(reader, number):
    rows = reader.execute(analyst_statement(QUERIES[number - 1])).fetchall()
    assert rows, f"worked query {number} returned no rows"
    assert reader.execute("select current_setting('lock_configuration')").fetchall() == [(True,)]
