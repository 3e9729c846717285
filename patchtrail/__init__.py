"""patchtrail: history of AWS Systems Manager patch compliance."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("patchtrail")  # one source: pyproject.toml
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
