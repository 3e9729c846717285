"""`python -m patchtrail.cli`."""

from patchtrail.cli import app

app(prog_name="patchtrail")
