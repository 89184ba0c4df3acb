"""rdsaudit: RDS and Aurora MySQL audit logs into OpenSearch."""

__version__ = "0.1.0"
