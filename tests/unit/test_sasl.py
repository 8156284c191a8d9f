"""Server-side SASL mechanisms (PLAIN, LOGIN, CRAM-MD5) and the APOP helpers."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakemail._exceptions import LocalProtocolError
from fakemail._sasl import (
    MECHANISMS,
    Challenge,
    CramMd5,
    Credentials,
    Login,
    Mechanism,
    Plain,
    SaslFailure,
    apop_credentials,
    apop_digest,
    check_apop,
    make_challenge,
    password_credentials,
    start_mechanism,
)


def credentials(step: object) -> Credentials:
    assert isinstance(step, Credentials), step
    return step


# --- start_mechanism -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [("PLAIN", Plain), ("plain", Plain), ("LOGIN", Login), ("cram-md5", CramMd5)],
)
def test_start_mechanism(name: str, cls: type[Mechanism]) -> None:
    mech = start_mechanism(name)
    assert isinstance(mech, cls)
    assert mech is not None
    assert mech.name == name.upper()


@pytest.mark.parametrize("name", ["GSSAPI", "SCRAM-SHA-1", "", "PLAIN ", "pla\u0131n"])
def test_unsupported_mechanisms(name: str) -> None:
    assert start_mechanism(name) is None


def test_mechanisms_list_matches() -> None:
    assert MECHANISMS == ("PLAIN", "LOGIN", "CRAM-MD5")
    for name in MECHANISMS:
        mech = start_mechanism(name)
        assert mech is not None
        assert mech.name == name


# --- PLAIN -----------------------------------------------------------------------------


def test_plain_with_initial_response() -> None:
    mech = start_mechanism("PLAIN")
    assert mech is not None
    creds = credentials(mech.step(b"\0bob@example.com\0s3cret"))
    assert (creds.authzid, creds.username, creds.password) == ("", "bob@example.com", "s3cret")
    assert creds.mechanism == "PLAIN"
    assert creds.verify("s3cret")
    assert not creds.verify("s3cre")
    assert not creds.verify("S3cret")
    assert "s3cret" not in repr(creds)


def test_plain_without_initial_response_sends_an_empty_challenge() -> None:
    mech = Plain()
    assert mech.step(None) == Challenge(b"")  # RFC 4422 §5
    creds = credentials(mech.step(b"admin\0bob\0pw"))
    assert (creds.authzid, creds.username) == ("admin", "bob")


def test_plain_utf8() -> None:
    creds = credentials(Plain().step("\0jörg\0pässwörd".encode()))
    assert creds.username == "jörg"
    assert creds.verify("pässwörd")  # compare_digest on str would refuse non-ASCII
    assert not creds.verify("passwort")


@pytest.mark.parametrize(
    "response",
    [
        b"",
        b"bob\0pw",  # two fields
        b"\0bob\0pw\0extra",  # four fields
        b"\0\0pw",  # empty authcid
        b"\0bob\0",  # empty passwd
        b"\0b\xffob\0pw",  # not UTF-8
    ],
)
def test_plain_malformed(response: bytes) -> None:
    step = Plain().step(response)
    assert isinstance(step, SaslFailure)
    assert step.reason


# --- LOGIN -----------------------------------------------------------------------------


def test_login_two_challenges() -> None:
    mech = Login()
    assert mech.step(None) == Challenge(b"Username:")
    assert mech.step(b"bob") == Challenge(b"Password:")
    creds = credentials(mech.step(b"pass word"))
    assert (creds.authzid, creds.username, creds.password) == ("", "bob", "pass word")
    assert creds.mechanism == "LOGIN"
    assert creds.verify("pass word")
    assert not creds.verify("password")


def test_login_with_user_name_as_initial_response() -> None:
    mech = Login()
    assert mech.step(b"bob") == Challenge(b"Password:")
    assert credentials(mech.step(b"pw")).username == "bob"


@pytest.mark.parametrize(
    ("responses", "reason"),
    [
        ([None, b""], "LOGIN user name must not be empty"),
        ([None, b"\xff"], "LOGIN response is not valid UTF-8"),
        ([None, b"bob", b"\xfe"], "LOGIN response is not valid UTF-8"),
    ],
)
def test_login_malformed(responses: list[bytes | None], reason: str) -> None:
    mech = Login()
    steps = [mech.step(response) for response in responses]
    assert all(isinstance(step, Challenge) for step in steps[:-1])
    assert steps[-1] == SaslFailure(reason)


# --- CRAM-MD5 --------------------------------------------------------------------------


def test_cram_md5() -> None:
    mech = start_mechanism("CRAM-MD5", hostname="mail.example.org")
    assert mech is not None
    challenge = mech.step(None)
    assert isinstance(challenge, Challenge)
    assert re.fullmatch(rb"<\d+\.\d+@mail\.example\.org>", challenge.data)
    digest = hmac.new(b"tanstaaftanstaaf", challenge.data, hashlib.md5).hexdigest()
    creds = credentials(mech.step(b"tim " + digest.encode()))
    assert creds.username == "tim"
    assert creds.password is None
    assert creds.mechanism == "CRAM-MD5"
    assert creds.challenge == challenge.data
    assert creds.digest == digest
    assert creds.verify("tanstaaftanstaaf")
    assert not creds.verify("tanstaaftanstaa")
    assert not creds.verify("")


def test_cram_md5_rfc2195_example() -> None:
    # RFC 2195 §2: the published challenge, secret and answer.
    mech = CramMd5()
    mech._challenge = b"<1896.697170952@postoffice.reston.mci.net>"
    assert mech.step(None) == Challenge(b"<1896.697170952@postoffice.reston.mci.net>")
    creds = credentials(mech.step(b"tim b913a602c7eda7a495b4e6e7334d3890"))
    assert creds.verify("tanstaaftanstaaf")


def test_cram_md5_user_with_spaces_and_upper_case_digest() -> None:
    mech = CramMd5()
    challenge = mech.step(None)
    assert isinstance(challenge, Challenge)
    digest = hmac.new("pässword".encode(), challenge.data, hashlib.md5).hexdigest()
    creds = credentials(mech.step(b"john smith " + digest.upper().encode()))
    assert creds.username == "john smith"
    assert creds.verify("pässword")


def test_cram_md5_challenges_are_fresh() -> None:
    first, second = CramMd5().step(None), CramMd5().step(None)
    assert first != second


@pytest.mark.parametrize(
    "response",
    [
        b"",
        b"tim",
        b"tim ",
        b" " + b"a" * 32,  # no user name
        b"tim " + b"a" * 31,
        b"tim " + b"a" * 33,
        b"tim " + b"g" * 32,
        b"t\xffm " + b"a" * 32,
    ],
)
def test_cram_md5_malformed(response: bytes) -> None:
    mech = CramMd5()
    mech.step(None)
    assert isinstance(mech.step(response), SaslFailure)


@pytest.mark.parametrize("initial", [b"", b"tim " + b"a" * 32])
def test_cram_md5_refuses_an_initial_response(initial: bytes) -> None:
    # RFC 5034 §4: an initial response to a server-first mechanism is rejected.
    assert CramMd5().step(initial) == SaslFailure("CRAM-MD5 takes no initial response")


# --- misuse ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", MECHANISMS)
def test_step_after_the_end_is_a_local_error(name: str) -> None:
    mech = start_mechanism(name)
    assert mech is not None
    step = mech.step(None)
    while isinstance(step, Challenge):
        step = mech.step(b"")  # malformed everywhere: ends in failure
    assert isinstance(step, SaslFailure)
    with pytest.raises(LocalProtocolError):
        mech.step(b"again")


@pytest.mark.parametrize("name", MECHANISMS)
def test_none_after_the_first_step_is_a_local_error(name: str) -> None:
    mech = start_mechanism(name)
    assert mech is not None
    assert isinstance(mech.step(None), Challenge)
    with pytest.raises(LocalProtocolError):
        mech.step(None)


@given(st.binary(max_size=100), st.binary(max_size=100))
def test_mechanisms_never_raise_on_client_data(first: bytes, second: bytes) -> None:
    for name in MECHANISMS:
        mech = start_mechanism(name)
        assert mech is not None
        step = mech.step(None)
        for data in (first, second):
            if not isinstance(step, Challenge):
                break
            step = mech.step(data)
        if isinstance(step, Credentials):
            assert isinstance(step.verify("x"), bool)


# --- challenges and APOP ---------------------------------------------------------------


def test_make_challenge() -> None:
    challenge = make_challenge("pop.example.com")
    assert re.fullmatch(r"<\d+\.\d+@pop\.example\.com>", challenge)
    assert make_challenge("pop.example.com") != challenge


@pytest.mark.parametrize("hostname", ["", "a b", "a>b", "<a", "a@b", "a\r\nb", "h\u00f6st"])
def test_make_challenge_refuses_bad_hostnames(hostname: str) -> None:
    with pytest.raises(ValueError, match="hostname"):
        make_challenge(hostname)


def test_apop_digest_rfc1939_example() -> None:
    # RFC 1939 §7: the published timestamp, secret and digest.
    timestamp = "<1896.697170952@dbc.mtview.ca.us>"
    assert apop_digest(timestamp, "tanstaaf") == "c4c9334bac560ecc979e58001b3e22fb"
    assert check_apop(timestamp, "tanstaaf", "c4c9334bac560ecc979e58001b3e22fb")
    assert check_apop(timestamp, "tanstaaf", "C4C9334BAC560ECC979E58001B3E22FB")
    assert not check_apop(timestamp, "tanstaa", "c4c9334bac560ecc979e58001b3e22fb")
    assert not check_apop(timestamp, "tanstaaf", "not a digest \u00e9")


def test_apop_credentials() -> None:
    timestamp = "<1896.697170952@dbc.mtview.ca.us>"
    creds = apop_credentials("mrose", timestamp, "C4C9334BAC560ECC979E58001B3E22FB")
    assert (creds.username, creds.password, creds.mechanism) == ("mrose", None, "APOP")
    assert creds.challenge == timestamp.encode()
    assert creds.digest == "c4c9334bac560ecc979e58001b3e22fb"
    assert creds.verify("tanstaaf")
    assert not creds.verify("tanstaa")


def test_password_credentials() -> None:
    creds = password_credentials("bob", "pw", mechanism="USER")
    assert (creds.authzid, creds.username, creds.password, creds.mechanism) == (
        "",
        "bob",
        "pw",
        "USER",
    )
    assert creds.verify("pw")
    assert not creds.verify("pw ")
    assert "'pw'" not in repr(creds)
