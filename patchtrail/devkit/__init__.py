"""The dev kit: a CloudTrail Lake emulator, a fleet simulator and the demo (product code never imports it)."""
