"""Aurora Database Activity Streams records → decrypted activity events.

A Kinesis record holds `{"type": "DatabaseActivityMonitoringRecords", "version": "1.x",
"databaseActivityEvents": b64, "key": b64}`. The key is a KMS-encrypted data key (encryption context
`{"aws:rds:dbc-id": <cluster resource id>}`); the events are an AWS Encryption SDK message under that data key as a
raw AES-256-GCM master key, holding gzipped JSON with `databaseActivityEventList`. Heartbeats are dropped.
The Encryption SDK and boto3 are imported only here, off the forwarder's cold path.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import random
import re
import time
import zlib
from collections.abc import Callable
from typing import Any

from handler.errors import DecodeError, TransientError
from handler.sinks.retry import backoff_seconds

RECORD_TYPE = "DatabaseActivityMonitoringRecords"
# KMS errors that say "not now" rather than "never" (AWS KMS API Reference, Decrypt, Errors): retried here, then
# reported as TransientError so the record is retried later instead of dead-lettered.
TRANSIENT_KMS_ERRORS = frozenset(
    {"ThrottlingException", "KMSInternalException", "LimitExceededException", "DependencyTimeoutException"}
)
_STREAM = re.compile(r":stream/aws-rds-das-(?P<id>[A-Za-z0-9-]+)$")


def cluster_id_from_stream_arn(arn: str | None) -> str | None:
    m = _STREAM.search(arn or "")
    return m.group("id") if m else None


def parse_envelope(data: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(data)
    except ValueError as e:
        raise DecodeError(f"activity record is not JSON: {str(e)[:120]}") from None
    if not isinstance(envelope, dict) or envelope.get("type") != RECORD_TYPE:
        raise DecodeError(f"not a {RECORD_TYPE} record")
    for field in ("databaseActivityEvents", "key"):
        if not isinstance(envelope.get(field), str):
            raise DecodeError(f"activity record has no string {field!r}")
    return envelope


class Decryptor:
    """Decrypts records of one cluster; data keys are decrypted once per invocation and reused.

    A transient KMS error is retried with backoff (`backoff_seconds`) while attempts and the deadline (a
    `clock()` value) allow, then raised as TransientError; any other KMS error means the key cannot be decrypted
    (DecodeError)."""

    def __init__(
        self,
        kms: Any,
        cluster_id: str,
        *,
        deadline: float | None = None,
        max_attempts: int = 6,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.kms = kms
        self.cluster_id = cluster_id
        self.deadline = deadline
        self.max_attempts = max_attempts
        self.clock = clock
        self.sleep = sleep
        self.rng = rng  # the backoff's jitter; None for the module's generator
        self._keys: dict[str, bytes] = {}
        self.kms_calls = 0

    def data_key(self, encrypted_b64: str) -> bytes:
        key = self._keys.get(encrypted_b64)
        if key is None:
            try:
                blob = base64.b64decode(encrypted_b64, validate=True)
            except (binascii.Error, ValueError):
                raise DecodeError("activity record key is not base64") from None
            key = self._decrypt(blob)
            self._keys[encrypted_b64] = key
        return key

    def _decrypt(self, blob: bytes) -> bytes:
        attempt = 0
        while True:
            self.kms_calls += 1
            try:
                answer = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext={"aws:rds:dbc-id": self.cluster_id})
                return bytes(answer["Plaintext"])
            except Exception as e:  # botocore's error classes are generated: decide by the error code
                code = getattr(e, "response", {}).get("Error", {}).get("Code", type(e).__name__)
                if code not in TRANSIENT_KMS_ERRORS:
                    raise DecodeError(
                        f"KMS could not decrypt the data key for cluster {self.cluster_id}: {code}"
                    ) from None
            wait = backoff_seconds(attempt, rng=self.rng)
            attempt += 1
            out_of_time = self.deadline is not None and self.clock() + wait >= self.deadline
            if attempt >= self.max_attempts or out_of_time:
                raise TransientError(
                    f"KMS kept answering {code} for the data key of cluster {self.cluster_id} "
                    f"({attempt} attempts): retry the record later"
                )
            self.sleep(wait)

    def events(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """The decrypted activity document (heartbeats still in it)."""
        key = self.data_key(envelope["key"])
        try:
            ciphertext = base64.b64decode(envelope["databaseActivityEvents"], validate=True)
        except (binascii.Error, ValueError):
            raise DecodeError("databaseActivityEvents is not base64") from None
        plaintext = decrypt_message(ciphertext, key)
        try:
            activity = json.loads(gzip.decompress(plaintext))
        except (OSError, EOFError, zlib.error, ValueError) as e:
            raise DecodeError(f"decrypted activity events are not gzipped JSON: {str(e)[:120]}") from None
        if not isinstance(activity, dict) or not isinstance(activity.get("databaseActivityEventList"), list):
            raise DecodeError("decrypted activity has no databaseActivityEventList")
        return activity


def _provider(data_key: bytes) -> Any:
    from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

    class DataKeyProvider(RawMasterKeyProvider):  # type: ignore[misc]
        """The data key as a raw AES-256-GCM master key, as Activity Streams encrypt with it."""

        provider_id = "BC"

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            return super(RawMasterKeyProvider, cls).__new__(cls)

        def __init__(self, key: bytes) -> None:
            RawMasterKeyProvider.__init__(self)
            self.wrapping_key = WrappingKey(
                wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
                wrapping_key=key,
                wrapping_key_type=EncryptionKeyType.SYMMETRIC,
            )

        def _get_raw_key(self, key_id: Any) -> Any:
            return self.wrapping_key

    provider = DataKeyProvider(data_key)
    provider.add_master_key("DataKey")
    return provider


def decrypt_message(ciphertext: bytes, data_key: bytes) -> bytes:
    import aws_encryption_sdk
    from aws_encryption_sdk.identifiers import CommitmentPolicy

    # Activity Streams use a non-committing algorithm suite; decrypting it must be allowed.
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
    try:
        plaintext, _ = client.decrypt(source=ciphertext, key_provider=_provider(data_key))
    except Exception as e:  # the SDK raises several error types for a corrupt or foreign message
        raise DecodeError(f"activity events could not be decrypted: {type(e).__name__}: {str(e)[:120]}") from None
    return bytes(plaintext)


def encrypt_message(plaintext: bytes, data_key: bytes) -> bytes:
    """The inverse, as Activity Streams produce it (tests, demos)."""
    import aws_encryption_sdk
    from aws_encryption_sdk.identifiers import CommitmentPolicy

    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    ciphertext, _ = client.encrypt(source=plaintext, key_provider=_provider(data_key))
    return bytes(ciphertext)
