"""patchtrail: history of AWS Systems Manager patch compliance."""

#: The one place the version is written: pyproject.toml reads it (setuptools dynamic version).
__version__ = "0.2.0"
