"""Log levels, set once per process from LOG_LEVEL.

rdsaudit's own logger follows LOG_LEVEL. The libraries under it (opensearch-py, urllib3, botocore) log every
failed request with a traceback; the bulk loop already reports each retry round in one line, so their records
are shown only with LOG_LEVEL=DEBUG."""

from __future__ import annotations

import logging

LIBRARIES = ("opensearch", "urllib3", "botocore", "boto3", "s3transfer", "aws_encryption_sdk")


def configure_logging(level: str) -> None:
    logging.getLogger("rdsaudit").setLevel(level)
    library_level = logging.DEBUG if level == "DEBUG" else logging.CRITICAL
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(library_level)


def log_to_stderr() -> None:
    """The command line's own warnings, one line each: `rdsaudit: retrying 120 documents in 0.4 s …`."""
    logger = logging.getLogger("rdsaudit")
    if not any(getattr(h, "_rdsaudit", False) for h in logger.handlers):
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("rdsaudit: %(message)s"))
        stream._rdsaudit = True  # type: ignore[attr-defined]
        logger.addHandler(stream)
        logger.propagate = False
