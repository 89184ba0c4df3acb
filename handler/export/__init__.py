"""RDS log-file exporter: audit log files to S3 (and optionally OpenSearch) without gaps or duplicates."""
