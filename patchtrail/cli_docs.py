"""Render docs/cli.md from the CLI's own --help texts (a test checks the file is current).

    python -m patchtrail.cli_docs > docs/cli.md
"""

from __future__ import annotations

import os

from typer.testing import CliRunner

from patchtrail.cli import app

COMMANDS = (
    ["demo"], ["simulate"], ["ingest", "files"], ["ingest", "lake"], ["ingest", "s3"],
    ["lake-emulator"], ["query"], ["sql"], ["report"], ["export"], ["status"], ["rebuild"],
    ["evidence"], ["sla"], ["check"], ["waivers", "load"], ["waivers", "list"], ["policies", "load"],
    ["policies", "list"], ["publish", "duckdb"], ["publish", "parquet"], ["publish", "postgres"],
    ["spark", "export"], ["spark", "build"], ["spark", "package"],
)
WIDTH = "100"


def render() -> str:
    """The CLI reference in Markdown: one section per command, its --help verbatim."""
    runner = CliRunner()
    env = {"COLUMNS": WIDTH, "TERM": "dumb", "NO_COLOR": "1"}
    parts = [
        "# Command-line reference",
        "",
        "Generated from `--help` by `python -m patchtrail.cli_docs > docs/cli.md`; "
        "`tests/test_docs.py` fails when it is out of date.",
        "",
    ]
    for command in [[], *COMMANDS]:
        result = runner.invoke(app, [*command, "--help"], env=env, prog_name="patchtrail")
        if result.exit_code != 0:
            raise RuntimeError(f"patchtrail {' '.join(command)} --help failed: {result.output}")
        title = " ".join(["patchtrail", *command])
        parts += [f"## {title}", "", "```text", result.output.rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    os.environ.setdefault("COLUMNS", WIDTH)
    print(render(), end="")
