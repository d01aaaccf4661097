"""Webhook signatures against the Standard Webhooks test vector and its reference library, both ways.

No database: webhooks.signing is pure. The reference library (standardwebhooks, requirements-dev.txt)
checks what we send, and our `verify` checks what it signs, so a receiver on any Standard Webhooks
library accepts our deliveries. The Python and Node.js snippets of docs/webhooks.md are taken from
the page by their `<!-- snippet: ... -->` markers and run, so the page cannot drift from what works.
"""

import base64
import inspect
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

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


# The snippets of docs/webhooks.md

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def snippet(name: str) -> str:
    """The code block right after the line `<!-- snippet: NAME -->` in docs/webhooks.md."""
    pattern = rf"^<!-- snippet: {name} -->\n```[a-z]*\n(.*?)^```$"
    found = re.findall(pattern, DOCS.read_text(), flags=re.MULTILINE | re.DOTALL)
    assert len(found) == 1, f"docs/webhooks.md has {len(found)} code blocks marked <!-- snippet: {name} -->"
    return found[0]


@dataclass(frozen=True)
class Delivery:
    """A delivery as a receiver gets it, and whether the snippets must accept it."""

    name: str
    body: bytes
    headers: dict[str, str]
    secrets: list[str]
    accepted: bool


def deliveries() -> dict[str, Delivery]:
    """Signed by us just now, and changed in the ways verify refuses, by name.

    The snippets read the clock, so the deliveries are made in the test, and the stale ones are 330 s
    away rather than 301: a node process takes a moment to start (the 301 s edge is tested above).
    """
    secret, new = signing.new_secret(), signing.new_secret()
    body = json.dumps({"type": "points.earned", "member": "Zoë", "points": "12.50"}, ensure_ascii=False).encode()
    now = int(time.time())
    sent = signing.headers([secret], "msg_2bXyQ9", now, body)
    rotating = signing.headers([secret, new], "msg_2bXyQ9", now, body)
    made = [
        Delivery("good", body, sent, [secret], accepted=True),
        Delivery("tampered body", body.replace(b"12.50", b"99.50"), sent, [secret], accepted=False),
        Delivery("another secret", body, sent, [new], accepted=False),
        Delivery("rotation, receiver on the new secret", body, rotating, [new], accepted=True),
        Delivery("receiver on both secrets, signed with one", body, sent, [new, secret], accepted=True),
        Delivery("330 s old", body, signing.headers([secret], "msg_2bXyQ9", now - 330, body), [secret], False),
        Delivery("330 s ahead", body, signing.headers([secret], "msg_2bXyQ9", now + 330, body), [secret], False),
        Delivery(
            "signature of another version",
            body,
            sent | {"webhook-signature": "v1a," + sent["webhook-signature"][3:]},
            [secret],
            False,
        ),
        Delivery("no signature", body, {k: v for k, v in sent.items() if k != "webhook-signature"}, [secret], False),
    ]
    return {delivery.name: delivery for delivery in made}


DELIVERIES = list(deliveries())


def test_the_docs_mark_one_python_and_one_node_snippet():
    assert "def verify(" in snippet("python")
    assert "function verifyWebhook(" in snippet("node")


def test_the_python_snippet_is_the_verify_of_webhooks_signing():
    """The page says receivers may copy signing.verify: the snippet is that function, word for word."""
    code = snippet("python")
    assert inspect.getsource(signing.VerificationError) in code
    assert inspect.getsource(signing.verify) in code


@pytest.mark.parametrize("name", DELIVERIES)
def test_the_python_snippet_verifies_our_signatures(name):
    delivery = deliveries()[name]
    names: dict = {}
    exec(compile(snippet("python"), "docs/webhooks.md (python snippet)", "exec"), names)  # noqa: S102 - the docs' code
    verify, error = names["verify"], names["VerificationError"]
    if delivery.accepted:
        verify(delivery.body, delivery.headers, delivery.secrets)
    else:
        with pytest.raises(error):
            verify(delivery.body, delivery.headers, delivery.secrets)


NODE_DRIVER = """
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const { body, headers, secrets } = JSON.parse(input);
  try {
    verifyWebhook(Buffer.from(body, "base64"), headers, secrets);
    console.log("OK");
  } catch (error) {
    console.log(`REFUSED: ${error.message}`);
    process.exitCode = 1;
  }
});
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: the Node.js snippet is not run")
@pytest.mark.parametrize("name", DELIVERIES)
def test_the_node_snippet_verifies_our_signatures(name, tmp_path):
    delivery = deliveries()[name]
    script = tmp_path / "verify.cjs"  # .cjs: CommonJS whatever package.json lies above
    script.write_text(snippet("node") + NODE_DRIVER)
    received = {"body": base64.b64encode(delivery.body).decode(), "headers": delivery.headers}
    run = subprocess.run(
        ["node", str(script)],
        input=json.dumps(received | {"secrets": delivery.secrets}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.stderr == ""
    if delivery.accepted:
        assert (run.returncode, run.stdout) == (0, "OK\n")
    else:
        assert run.returncode == 1 and run.stdout.startswith("REFUSED: "), run.stdout
