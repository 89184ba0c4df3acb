"""Backfill: historical audit logs from S3 or local files, through the forwarder's parser, ids and sink."""
