"""`python -m patchtrail.cli`."""

from patchtrail.cli import app

app()
