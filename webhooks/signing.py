"""Signatures of outgoing webhooks, as the Standard Webhooks specification defines them.

https://www.standardwebhooks.com: a delivery carries `webhook-id`, `webhook-timestamp` (integer Unix
seconds) and `webhook-signature`; each signature is `v1,` + base64 of HMAC-SHA256 over
`{id}.{timestamp}.{body}`, keyed with the bytes of a `whsec_` secret. Receivers can then use any
Standard Webhooks library, or the few lines of `verify` below, instead of learning a scheme of ours.

Pure functions on bytes and strings, without Django, so the sender, the tests and receivers share them.
"""

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from secrets import token_bytes

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix every secret carries, not a secret
SECRET_BYTES = 24  # the specification asks for 24 to 64 random bytes


def new_secret() -> str:
    """A new endpoint secret: `whsec_` + base64 of 24 random bytes, the form receivers' libraries expect."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode("ascii")


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret: its base64 part decoded; the string itself is never the key.

    Anything else is refused with ValueError, so that a mistyped or truncated secret fails loudly
    here instead of producing signatures no receiver can check.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as error:
        raise ValueError(f"a webhook secret is {SECRET_PREFIX!r} followed by base64: {error}") from error
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of a delivery, over the exact bytes that will be sent."""
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        # A float would be signed as "1614265330.0" while receivers read the header as an integer.
        raise TypeError(f"the timestamp is integer Unix seconds, not {type(timestamp).__name__}")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per active secret, separated by spaces.

    During a rotation an endpoint has two active secrets and both signatures are sent, so a receiver
    still on the old secret and one already on the new one both accept the delivery.
    """
    if not secrets:
        raise ValueError("an endpoint needs at least one active secret to sign with")
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


def headers(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt; the body must be sent exactly as signed."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
        "content-type": "application/json",
    }


class VerificationError(Exception):
    """A delivery that must not be trusted: a header is missing, it is too old or too new, or no signature matches."""


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secrets: list[str],
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> None:
    """Check a delivery as a receiver does; raise VerificationError unless it is authentic and recent.

    Receivers may copy this function with VerificationError: it uses nothing else from this module,
    only the standard library (base64, hashlib, hmac, time, collections.abc.Mapping).

    body: the raw request body, before any JSON parsing (parsing and re-serialising changes bytes).
    headers: the request headers; names are matched in any case.
    secrets: the endpoint's active `whsec_` secrets (two during a rotation); one match is enough.
    tolerance: seconds the timestamp may be away from now, either way; it bounds replays.
    A missing or malformed secret is the receiver's own mistake, not the sender's: ValueError.
    """
    if not secrets:
        raise ValueError("verify needs at least one secret")
    keys = []
    for secret in secrets:
        encoded = secret.removeprefix("whsec_") if secret.startswith("whsec_") else ""
        key = base64.b64decode(encoded, validate=True)  # not base64: binascii.Error, a ValueError
        if not key:
            raise ValueError("a webhook secret is 'whsec_' followed by base64")
        keys.append(key)

    lowered = {name.lower(): value for name, value in headers.items()}
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    missing = [name for name in names if not lowered.get(name)]
    if missing:
        raise VerificationError(f"missing header: {', '.join(missing)}")
    msg_id, timestamp, signatures = (lowered[name] for name in names)

    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
        raise VerificationError(f"webhook-timestamp is not integer Unix seconds: {timestamp[:20]!r}")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        raise VerificationError(f"webhook-timestamp {timestamp} is more than {tolerance} seconds away from now")

    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = [base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()) for key in keys]
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version != "v1":
            continue  # another scheme (v1a, a later version): not ours to check
        given = value.encode("utf-8", "replace")
        if any(hmac.compare_digest(given, mac) for mac in expected):
            return
    raise VerificationError("no v1 signature in webhook-signature matches the secrets")
