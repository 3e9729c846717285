"""`python -m patchtrail`: the same as the `patchtrail` command."""

from patchtrail.cli import app

app(prog_name="patchtrail")
