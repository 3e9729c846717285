"""patchtrail: history of AWS Systems Manager patch compliance."""
__version__ = "0.1.0"
