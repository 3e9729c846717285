"""Compliance analytics on the warehouse: rebuild, SLA policies, waivers, evidence packs.

The marts themselves are SQL (sql/warehouse/marts/, documented in docs/analytics.md); this
package loads what they read (policies, the waiver register), rebuilds derived layers from
landing, and writes evidence packs.
"""

from patchtrail.analytics.evidence import EvidenceResult, verify_evidence, write_evidence
from patchtrail.analytics.policy import Policy, load_policy_file, resolve_policy
from patchtrail.analytics.rebuild import RebuildSummary, rebuild
from patchtrail.analytics.waivers import Waiver, load_waiver_file, store_waivers

__all__ = [
    "EvidenceResult",
    "Policy",
    "RebuildSummary",
    "Waiver",
    "load_policy_file",
    "load_waiver_file",
    "rebuild",
    "resolve_policy",
    "store_waivers",
    "verify_evidence",
    "write_evidence",
]
