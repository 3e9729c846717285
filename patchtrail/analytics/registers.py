"""Read register files (policies, waivers): TOML, YAML or CSV by extension, as plain data."""

from __future__ import annotations

import csv
import hashlib
import io
import tomllib
from pathlib import Path
from typing import Any

from patchtrail.errors import InvalidInput

FORMATS = (".toml", ".yaml", ".yml", ".csv")


def read_register(path: Path | str) -> tuple[Any, str]:
    """The parsed content of a register file and the SHA-256 of its bytes.

    Raises:
        InvalidInput: unreadable file, unknown extension, or a syntax error (named with the path).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror or exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None
    if suffix == ".toml":
        try:
            return tomllib.loads(text), digest
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"{path}: invalid TOML ({exc})") from None
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text), digest
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{path}: invalid YAML ({exc})") from None
    if suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        return [{k.strip(): (v.strip() if v else None) for k, v in row.items() if k} for row in rows], digest
    raise InvalidInput(f"{path}: unknown register format {suffix!r}; use one of {', '.join(FORMATS)}")
