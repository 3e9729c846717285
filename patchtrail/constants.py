"""Constants of the library (user-tunable settings are in patchtrail/settings.py)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: The SQL files: package `patchtrail.sql`, which is sql/ in a checkout (an editable install maps
#: it there) and patchtrail/sql/ in an installed wheel.
SQL_DIR = Path(str(resources.files("patchtrail.sql")))


#: Configuration items flattened and landed per batch: memory stays bounded by this.
BATCH_ITEMS = 500
#: Items per committed chunk of a run (at object boundaries: an object lands whole), so a run's
#: memory is bounded by this or by its largest object, whichever is larger.
CHUNK_ITEMS = 1000

#: The fleet `patchtrail demo` simulates by default (docs/analytics.md's worked queries run on it).
DEMO_FLEET = {"accounts": 3, "regions": 2, "instances": 12, "days": 120, "seed": 7}

PATCH_COMPLIANCE = "AWS::SSM::PatchCompliance"
RESOURCE_ID_PREFIX = "AWS::SSM::ManagedInstanceInventory/"

#: The columns of the JSON-safe CloudTrail Lake extraction (aws-formats §6.4), in order.
LAKE_EXTRACT_COLUMNS = (
    "eventId",
    "eventTime",
    "accountId",
    "awsRegion",
    "resourceId",
    "ciStatus",
    "ciCaptureTime",
    "ciStateId",
    "configurationJson",
)
