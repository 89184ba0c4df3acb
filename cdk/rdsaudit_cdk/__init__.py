"""rdsaudit's CDK constructs: forwarder, OpenSearch domain, setup, alarms, backfill."""
