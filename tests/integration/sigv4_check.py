"""The server side of SigV4 for the loopback stand-ins (rds_emulator, aoss_proxy, fake_dashboards): a request is
refused as AWS refuses it unless it carries a well-formed Signature Version 4 that botocore's own signer computes
again, from the signed headers and the body, with the known test credentials. No HMAC is written here.

What is checked, and where AWS documents it:
- "Elements of an AWS API request signature" and "Create a signed AWS API request" (IAM User Guide): the
  Authorization header is `AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/aws4_request,
  SignedHeaders=<names>, Signature=<64 hex>`; `host` and `x-amz-date` are signed; X-Amz-Date is `yyyymmddThhmmssZ`
  and its day is the credential scope's; temporary credentials send X-Amz-Security-Token, signed;
- "Common Errors" (e.g. Amazon RDS API Reference): no Authorization is MissingAuthenticationToken (403); an unknown
  access key is InvalidClientTokenId (403); a wrong signature is SignatureDoesNotMatch (403); a request signed more
  than 15 minutes away from the server's clock is refused (the page's RequestExpired). An incomplete signature
  (no X-Amz-Date, a malformed header) is IncompleteSignature: the page lists it with 400, the endpoints answer it
  with 403 ("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header"), which is what
  this module answers; rdsaudit reports either as a refusal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<day>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)"
    r"/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9-]+(?:;[a-z0-9-]+)*), ?Signature=(?P<signature>[0-9a-f]{64})"
)
SKEW = timedelta(minutes=15)


class Refusal(NamedTuple):
    status: int
    code: str
    message: str


def sigv4_refusal(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    credentials: Any,
    service: str,
    region: str,
    now: datetime | None = None,
) -> Refusal | None:
    """None when `method url` with `headers` and `body` is signed for `service` in `region` by `credentials`
    (botocore Credentials: access_key, secret_key, token); else what AWS would answer."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization")
    if not auth:
        return Refusal(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
    stamp = lower.get("x-amz-date", "")
    if not stamp:
        return Refusal(
            403,
            "IncompleteSignature",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    found = _AUTHORIZATION.fullmatch(auth.strip())
    if not found:
        return Refusal(403, "IncompleteSignature", f"Authorization header is not a SigV4 signature: {auth[:60]!r}")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return Refusal(403, "IncompleteSignature", f"X-Amz-Date {stamp!r} is not yyyymmddThhmmssZ")
    if found["key"] != credentials.access_key:
        return Refusal(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    names = found["signed"].split(";")
    if "host" not in names or "x-amz-date" not in names or any(n not in lower for n in names):
        return Refusal(403, "IncompleteSignature", f"host and x-amz-date must be signed, and present: {names}")
    if credentials.token and (
        lower.get("x-amz-security-token") != credentials.token or "x-amz-security-token" not in names
    ):
        return Refusal(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    scope = (found["day"], found["region"], found["service"])
    if scope != (stamp[:8], region, service):
        wanted = f"{stamp[:8]}/{region}/{service}"
        return Refusal(403, "SignatureDoesNotMatch", f"Credential should be scoped to {wanted}, not {'/'.join(scope)}")
    if abs((now or datetime.now(UTC)) - signed_at) > SKEW:
        return Refusal(403, "SignatureDoesNotMatch", f"Signature expired: {stamp} is outside the 15 minute window")
    request = AWSRequest(method=method, url=url, data=body, headers={n: lower[n] for n in names})
    request.context["timestamp"] = stamp
    signer = SigV4Auth(credentials, service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if signer.signed_headers(signer.headers_to_sign(request)) != found["signed"] or expected != found["signature"]:
        return Refusal(403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
    return None
