"""AWS errors told apart: a 403 on a checkpoint or export state object is a missing permission (never "no
checkpoint yet"), and KMS throttling is retried, then reported as transient (never a dead letter).

The stand-ins raise botocore's own ClientError classes with the codes and statuses the services document, and
refuse what the services refuse."""

from __future__ import annotations

import base64
import hashlib
import io
import random
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from botocore.exceptions import ClientError

from handler.backfill.checkpoint import Progress, S3Checkpoints
from handler.errors import DecodeError, MissingPermission, TransientError
from handler.export.state import ConcurrentRun, ExportState
from handler.sinks.retry import backoff_seconds
from handler.sources.activity_streams import TRANSIENT_KMS_ERRORS, Decryptor


def _s3_exceptions() -> Any:
    import boto3

    # a real client's exception classes (modelled error shapes); created offline, never called
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x").exceptions


class StrictS3:
    """S3 GetObject/PutObject as documented in "GetObject" (Amazon S3 API Reference, Permissions): a missing key
    answers 404 NoSuchKey only when the caller has s3:ListBucket on the bucket, otherwise 403 AccessDenied."""

    def __init__(self, *, can_list: bool) -> None:
        self.exceptions = _s3_exceptions()
        self.can_list = can_list
        self.objects: dict[tuple[str, str], bytes] = {}

    def _error(self, code: str, status: int, message: str) -> ClientError:
        response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return self.exceptions.from_code(code)(response, "GetObject")  # type: ignore[no-any-return]

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            if self.can_list:
                raise self._error("NoSuchKey", 404, "The specified key does not exist.")
            raise self._error("AccessDenied", 403, "Access Denied")
        body = self.objects[Bucket, Key]
        return {"Body": io.BytesIO(body), "ETag": etag(body)}

    def put_object(
        self,
        *,
        Bucket: str,
        Key: str,
        Body: bytes,
        IfMatch: str | None = None,
        IfNoneMatch: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """ "PutObject" (Amazon S3 API Reference): If-None-Match "*" writes only a new key, If-Match only over that
        ETag; otherwise 412 PreconditionFailed (If-Match on a missing key: 404 NoSuchKey)."""
        current = self.objects.get((Bucket, Key))
        if IfNoneMatch == "*" and current is not None:
            raise self._error(
                "PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold"
            )
        if IfMatch is not None:
            if current is None:
                raise self._error("NoSuchKey", 404, "The specified key does not exist.")
            if IfMatch.strip('"') != etag(current).strip('"'):
                raise self._error(
                    "PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold"
                )
        self.objects[Bucket, Key] = Body
        return {"ETag": etag(Body)}


def etag(body: bytes) -> str:
    """An ETag that changes with the content, as S3's does (the MD5 for a single-part upload)."""
    return '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'


def test_export_state_conditional_writes_stop_an_overlapping_run() -> None:
    s3 = StrictS3(can_list=True)
    first, second = (ExportState(s3, "archive", "state/prod-1.json").load() for _ in range(2))
    first.save()  # If-None-Match "*": the key is new
    with pytest.raises(ConcurrentRun):
        second.save()  # read before first wrote: refused
    again = ExportState(s3, "archive", "state/prod-1.json").load()
    again.files["f"] = {"copied": 1}
    again.save()  # If-Match the ETag it read
    with pytest.raises(ConcurrentRun):
        first.save()  # its ETag is stale now


def test_missing_checkpoint_with_list_permission_is_no_checkpoint_yet() -> None:
    checkpoints = S3Checkpoints("s3://dead-letters/backfill-checkpoints", StrictS3(can_list=True))
    assert checkpoints.get("s3://archive/RDS/a.log") is None
    checkpoints.put("s3://archive/RDS/a.log", Progress("v1", 10, False))
    assert checkpoints.get("s3://archive/RDS/a.log") == Progress("v1", 10, False)


def test_checkpoint_access_denied_is_a_missing_permission_naming_bucket_key_and_grant() -> None:
    checkpoints = S3Checkpoints("s3://dead-letters/backfill-checkpoints", StrictS3(can_list=False))
    with pytest.raises(MissingPermission) as raised:
        checkpoints.get("s3://archive/RDS/a.log")
    message = str(raised.value)
    assert "s3://dead-letters/backfill-checkpoints/" in message and ".json" in message
    assert "s3:ListBucket" in message and "'backfill-checkpoints/'" in message


def test_export_state_access_denied_is_a_missing_permission() -> None:
    with pytest.raises(MissingPermission, match=r"s3://archive/state/prod-1\.json.*s3:ListBucket.*'state/'"):
        ExportState(StrictS3(can_list=False), "archive", "state/prod-1.json").load()
    state = ExportState(StrictS3(can_list=True), "archive", "state/prod-1.json").load()
    assert state.etag is None and state.files == {}


class StrictKms:
    """KMS Decrypt as documented in "Decrypt" (AWS KMS API Reference): the ciphertext must be bytes and the
    encryption context must be the one it was encrypted under (else InvalidCiphertextException); `failures` are
    error codes answered first, in order, as botocore ClientErrors with the documented HTTP statuses."""

    STATUS: ClassVar[dict[str, int]] = {
        "ThrottlingException": 400,
        "KMSInternalException": 500,
        "LimitExceededException": 400,
        "DependencyTimeoutException": 503,
        "InvalidCiphertextException": 400,
        "AccessDeniedException": 400,
    }

    def __init__(self, failures: list[str], context: dict[str, str]) -> None:
        self.failures = list(failures)
        self.context = context
        self.calls = 0
        # the ciphertexts this key produced, with their plaintext: any other bytes are not a ciphertext of it
        self.ciphertexts = {base64.b64decode(KEY): b"k" * 32}

    def decrypt(self, *, CiphertextBlob: bytes, EncryptionContext: dict[str, str]) -> dict[str, Any]:
        self.calls += 1
        if not isinstance(CiphertextBlob, bytes) or not CiphertextBlob:
            raise self._error("ValidationException")
        if self.failures:
            raise self._error(self.failures.pop(0))
        if CiphertextBlob not in self.ciphertexts or EncryptionContext != self.context:
            raise self._error("InvalidCiphertextException")
        return {
            "Plaintext": self.ciphertexts[CiphertextBlob],
            "KeyId": "arn:aws:kms:us-east-1:1:key/k",
            "EncryptionAlgorithm": "x",
        }

    def _error(self, code: str) -> ClientError:
        status = self.STATUS.get(code, 400)
        return ClientError(
            {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Decrypt"
        )


class FakeTime:
    """The clock and sleep the decryptor is given: sleeping advances the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


KEY = base64.b64encode(b"encrypted data key").decode()
CONTEXT = {"aws:rds:dbc-id": "cluster-A"}


@pytest.mark.parametrize("code", sorted(TRANSIENT_KMS_ERRORS))
def test_transient_kms_errors_are_retried_with_backoff_then_succeed(code: str, seed: Callable[[int], int]) -> None:
    kms, t = StrictKms([code, code], CONTEXT), FakeTime()
    s = seed(7)  # its own generator: the global one is left to other tests
    decryptor = Decryptor(kms, "cluster-A", deadline=t.now + 60, clock=t.clock, sleep=t.sleep, rng=random.Random(s))
    assert decryptor.data_key(KEY) == b"k" * 32
    assert kms.calls == 3
    # full-jitter backoff from handler/sinks/retry.py, drawn from the decryptor's generator
    replay = random.Random(s)
    assert t.sleeps == [backoff_seconds(n, rng=replay) for n in range(2)]
    assert all(0 <= w <= 0.2 * 2**n for n, w in enumerate(t.sleeps))


@pytest.mark.parametrize("code", sorted(TRANSIENT_KMS_ERRORS))
def test_still_failing_after_the_attempts_is_a_transient_error(code: str) -> None:
    kms, t = StrictKms([code] * 20, CONTEXT), FakeTime()
    decryptor = Decryptor(kms, "cluster-A", max_attempts=4, clock=t.clock, sleep=t.sleep)
    with pytest.raises(TransientError, match=f"{code}.*cluster-A"):
        decryptor.data_key(KEY)
    assert kms.calls == 4 and len(t.sleeps) == 3


def test_retries_stop_before_the_deadline() -> None:
    kms, t = StrictKms(["ThrottlingException"] * 1000, CONTEXT), FakeTime()
    deadline = t.now + 5.0
    decryptor = Decryptor(kms, "cluster-A", deadline=deadline, max_attempts=1000, clock=t.clock, sleep=t.sleep)
    with pytest.raises(TransientError):
        decryptor.data_key(KEY)
    assert t.now < deadline  # never slept past it


@pytest.mark.parametrize("code", ["InvalidCiphertextException", "AccessDeniedException"])
def test_permanent_kms_errors_are_not_retried(code: str) -> None:
    kms, t = StrictKms([code], CONTEXT), FakeTime()
    with pytest.raises(DecodeError, match=code):
        Decryptor(kms, "cluster-A", clock=t.clock, sleep=t.sleep).data_key(KEY)
    assert kms.calls == 1 and t.sleeps == []


def test_wrong_encryption_context_is_refused_as_kms_does() -> None:
    kms, t = StrictKms([], {"aws:rds:dbc-id": "cluster-OTHER"}), FakeTime()
    with pytest.raises(DecodeError, match="InvalidCiphertextException"):
        Decryptor(kms, "cluster-A", clock=t.clock, sleep=t.sleep).data_key(KEY)


def test_bytes_that_are_no_ciphertext_of_the_key_are_refused_as_kms_does() -> None:
    kms, t = StrictKms([], CONTEXT), FakeTime()
    with pytest.raises(DecodeError, match="InvalidCiphertextException"):
        Decryptor(kms, "cluster-A", clock=t.clock, sleep=t.sleep).data_key(base64.b64encode(b"forged").decode())
