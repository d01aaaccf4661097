"""Webhook signatures against the Standard Webhooks test vector and its reference library, both ways.

No database: webhooks.signing is pure. The reference library (standardwebhooks, requirements-dev.txt)
checks what we send, and our `verify` checks what it signs, so a receiver on any Standard Webhooks
library accepts our deliveries.
"""

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from webhooks import signing
from webhooks.signing import VerificationError

# The vector of the specification's reference libraries.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

EXAMPLES = settings(max_examples=25, deadline=None, derandomize=True, database=None)

secrets_ = st.binary(min_size=24, max_size=64).map(lambda raw: "whsec_" + base64.b64encode(raw).decode())
msg_ids = st.from_regex(r"msg_[A-Za-z0-9]{1,40}", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)
bodies = json_values.map(lambda value: json.dumps(value, ensure_ascii=False).encode())


def vector_headers(**changes: str) -> dict[str, str]:
    return {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP), "webhook-signature": SIGNATURE} | changes


# The test vector


def test_sign_gives_the_test_vector_signature():
    assert signing.sign(SECRET, MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_headers_carry_id_timestamp_signature_and_content_type():
    assert signing.headers([SECRET], MSG_ID, TIMESTAMP, BODY) == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": SIGNATURE,
        "content-type": "application/json",
    }


def test_verify_accepts_the_test_vector_within_five_minutes_either_way():
    for now in (TIMESTAMP, TIMESTAMP + 300, TIMESTAMP - 300):
        signing.verify(BODY, vector_headers(), [SECRET], now=now)


# Secrets


def test_new_secret_is_whsec_and_24_random_bytes():
    first, second = signing.new_secret(), signing.new_secret()
    assert first.startswith("whsec_") and second.startswith("whsec_")
    assert len(signing.secret_bytes(first)) == 24
    assert first != second


def test_secret_bytes_decodes_the_base64_after_whsec():
    assert signing.secret_bytes(SECRET) == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")


@pytest.mark.parametrize(
    "secret",
    [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # no prefix
        "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_",  # nothing after the prefix
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",  # truncated: padding is wrong
        "whsec_MfKQ9r8G*YqrTwjUPD8ILPZIo2LaLaSw",  # not base64
    ],
)
def test_secret_bytes_refuses_anything_but_whsec_base64(secret):
    with pytest.raises(ValueError, match="webhook secret"):
        signing.secret_bytes(secret)


def test_sign_refuses_a_timestamp_that_is_not_an_integer():
    with pytest.raises(TypeError, match="integer Unix seconds"):
        signing.sign(SECRET, MSG_ID, 1614265330.0, BODY)  # type: ignore[arg-type]


def test_signature_header_has_one_signature_per_active_secret_in_order():
    other = signing.new_secret()
    header = signing.signature_header([SECRET, other], MSG_ID, TIMESTAMP, BODY)
    assert header == f"{SIGNATURE} {signing.sign(other, MSG_ID, TIMESTAMP, BODY)}"


def test_signature_header_refuses_an_endpoint_without_a_secret():
    with pytest.raises(ValueError, match="at least one active secret"):
        signing.signature_header([], MSG_ID, TIMESTAMP, BODY)


# Against the reference library, both ways


@EXAMPLES
@given(secret=secrets_, msg_id=msg_ids, body=bodies)
def test_the_reference_library_verifies_what_we_sign(secret, msg_id, body):
    sent = signing.headers([secret], msg_id, int(time.time()), body)
    assert Webhook(secret).verify(body, sent) == json.loads(body)


@EXAMPLES
@given(old=secrets_, new=secrets_, msg_id=msg_ids, body=bodies)
def test_the_reference_library_verifies_either_secret_of_a_rotation(old, new, msg_id, body):
    sent = signing.headers([old, new], msg_id, int(time.time()), body)
    Webhook(old).verify(body, sent)
    Webhook(new).verify(body, sent)


@EXAMPLES
@given(secret=secrets_, msg_id=msg_ids, body=bodies, skew=st.integers(-300, 300))
def test_our_verify_accepts_what_the_reference_library_signs(secret, msg_id, body, skew):
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(TIMESTAMP, tz=UTC), body)
    received = {"webhook-id": msg_id, "webhook-timestamp": str(TIMESTAMP), "webhook-signature": signature}
    signing.verify(body, received, [secret], now=TIMESTAMP + skew)


@EXAMPLES
@given(secret=secrets_, msg_id=msg_ids, body=bodies)
def test_we_sign_as_the_reference_library_does(secret, msg_id, body):
    reference = Webhook(secret).sign(msg_id, datetime.fromtimestamp(TIMESTAMP, tz=UTC), body)
    assert signing.sign(secret, msg_id, TIMESTAMP, body) == reference


# What verify refuses


def test_verify_refuses_a_changed_body():
    with pytest.raises(VerificationError, match="no v1 signature"):
        signing.verify(b'{"test": 2432232315}', vector_headers(), [SECRET], now=TIMESTAMP)


def test_verify_refuses_a_changed_id_or_timestamp():
    with pytest.raises(VerificationError, match="no v1 signature"):
        signing.verify(BODY, vector_headers(**{"webhook-id": "msg_other"}), [SECRET], now=TIMESTAMP)
    with pytest.raises(VerificationError, match="no v1 signature"):
        signing.verify(BODY, vector_headers(**{"webhook-timestamp": str(TIMESTAMP + 1)}), [SECRET], now=TIMESTAMP)


def test_verify_refuses_a_timestamp_301_seconds_old():
    with pytest.raises(VerificationError, match="more than 300 seconds away"):
        signing.verify(BODY, vector_headers(), [SECRET], now=TIMESTAMP + 301)


def test_verify_refuses_a_timestamp_301_seconds_in_the_future():
    with pytest.raises(VerificationError, match="more than 300 seconds away"):
        signing.verify(BODY, vector_headers(), [SECRET], now=TIMESTAMP - 301)


def test_verify_uses_the_clock_when_no_now_is_given():
    with pytest.raises(VerificationError, match="away from now"):
        signing.verify(BODY, vector_headers(), [SECRET])  # the vector is of 2021
    fresh = int(time.time())
    signing.verify(BODY, signing.headers([SECRET], MSG_ID, fresh, BODY), [SECRET])


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_verify_refuses_a_missing_or_empty_header(name):
    absent = {key: value for key, value in vector_headers().items() if key != name}
    with pytest.raises(VerificationError, match=f"missing header: {name}"):
        signing.verify(BODY, absent, [SECRET], now=TIMESTAMP)
    with pytest.raises(VerificationError, match=f"missing header: {name}"):
        signing.verify(BODY, vector_headers(**{name: ""}), [SECRET], now=TIMESTAMP)


@pytest.mark.parametrize(
    "timestamp",
    ["1614265330.0", "+1614265330", " 1614265330", "1_614_265_330", "²", pytest.param("9" * 5000, id="5000 digits")],
)
def test_verify_refuses_a_timestamp_that_is_not_integer_seconds(timestamp):
    with pytest.raises(VerificationError, match="not integer Unix seconds"):
        signing.verify(BODY, vector_headers(**{"webhook-timestamp": timestamp}), [SECRET], now=TIMESTAMP)


def test_verify_refuses_a_delivery_signed_with_another_secret():
    with pytest.raises(VerificationError, match="no v1 signature"):
        signing.verify(BODY, vector_headers(), [signing.new_secret()], now=TIMESTAMP)


def test_verify_refuses_a_signature_of_another_version_or_malformed():
    for header in ("v1a," + SIGNATURE[3:], SIGNATURE[3:], "v2," + SIGNATURE[3:], "v1", "v1,", SIGNATURE + "="):
        with pytest.raises(VerificationError, match="no v1 signature"):
            signing.verify(BODY, vector_headers(**{"webhook-signature": header}), [SECRET], now=TIMESTAMP)


@pytest.mark.parametrize(
    "secrets", [[], ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], ["whsec_"], ["whsec_MfKQ 9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]]
)
def test_verify_refuses_a_receiver_without_a_valid_secret_as_its_own_mistake(secrets):
    with pytest.raises(ValueError):  # not a VerificationError: the delivery is not at fault
        signing.verify(BODY, vector_headers(), secrets, now=TIMESTAMP)


# What verify accepts


def test_verify_accepts_when_one_of_two_secrets_matches():
    other = signing.new_secret()
    signing.verify(BODY, vector_headers(), [other, SECRET], now=TIMESTAMP)
    signing.verify(BODY, vector_headers(), [SECRET, other], now=TIMESTAMP)


def test_verify_accepts_a_header_with_several_signatures_one_of_which_matches():
    stranger = signing.sign(signing.new_secret(), MSG_ID, TIMESTAMP, BODY)
    for header in (f"{stranger} {SIGNATURE}", f"{SIGNATURE} {stranger}", f"v1a,xyz {stranger} {SIGNATURE}"):
        signing.verify(BODY, vector_headers(**{"webhook-signature": header}), [SECRET], now=TIMESTAMP)


def test_verify_accepts_a_rotation_header_with_either_secret():
    new = signing.new_secret()
    sent = signing.headers([SECRET, new], MSG_ID, TIMESTAMP, BODY)
    signing.verify(BODY, sent, [SECRET], now=TIMESTAMP)
    signing.verify(BODY, sent, [new], now=TIMESTAMP)


@pytest.mark.parametrize("case", [str.upper, str.title, lambda name: name[:1].upper() + name[1:]])
def test_verify_reads_header_names_in_any_case(case):
    received = {case(name): value for name, value in vector_headers().items()}
    signing.verify(BODY, received, [SECRET], now=TIMESTAMP)
