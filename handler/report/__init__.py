"""`rdsaudit report`: evidence for auditors from the audit indices (see README, "Reports for auditors").

collect (query layer, exact paging) → sections (pure) → integrity (SHA-256 of the data) → render (HTML, JSON, MD).
Standard library only, so nothing here weighs on the Lambda asset; cli.py imports `command` alone.
"""
