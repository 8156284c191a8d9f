"""SASL exchanges (PLAIN, LOGIN, CRAM-MD5) and APOP as a client runs them, for any user name
and password: the server side recovers the claim, and ``verify`` takes that password only."""

from __future__ import annotations

import hmac

from hypothesis import given
from hypothesis import strategies as st

from fakemail._sasl import (
    Challenge,
    CramMd5,
    Credentials,
    Login,
    Mechanism,
    Plain,
    SaslStep,
    apop_credentials,
    apop_digest,
    make_challenge,
)

# Any Unicode text but NUL (PLAIN's separator) and lone surrogates (not encodable in UTF-8).
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=20)
NONEMPTY = TEXT.filter(bool)


def finish(mechanism: Mechanism, responses: list[bytes | None]) -> SaslStep:
    """Run the exchange: each response answers the previous step's challenge."""
    step: SaslStep = Challenge(b"")
    for response in responses:
        assert isinstance(step, Challenge), step
        step = mechanism.step(response)
    return step


def proves(step: SaslStep, username: str, password: str, other: str) -> None:
    """``step`` is the client's claim: its user name, and a ``verify`` that takes its password
    and nothing else."""
    assert isinstance(step, Credentials), step
    assert step.username == username
    assert step.verify(password)
    assert not step.verify(other) or other == password


@given(TEXT, NONEMPTY, NONEMPTY, TEXT, st.booleans())
def test_plain_round_trip(
    authzid: str, username: str, password: str, other: str, initial: bool
) -> None:
    message = f"{authzid}\0{username}\0{password}".encode()
    step = finish(Plain(), [message] if initial else [None, message])
    proves(step, username, password, other)
    assert isinstance(step, Credentials)
    assert (step.authzid, step.password, step.mechanism) == (authzid, password, "PLAIN")


@given(NONEMPTY, TEXT, TEXT, st.booleans())
def test_login_round_trip(username: str, password: str, other: str, initial: bool) -> None:
    responses: list[bytes | None] = [username.encode(), password.encode()]
    step = finish(Login(), responses if initial else [None, *responses])
    proves(step, username, password, other)


@given(NONEMPTY, TEXT, TEXT, st.booleans())
def test_cram_md5_round_trip(username: str, password: str, other: str, upper: bool) -> None:
    mechanism = CramMd5("mail.example")
    challenge = mechanism.step(None)
    assert isinstance(challenge, Challenge)
    digest = hmac.new(password.encode(), challenge.data, "md5").hexdigest()
    answer = f"{username} {digest.upper() if upper else digest}".encode()
    step = mechanism.step(answer)
    proves(step, username, password, other)
    assert isinstance(step, Credentials)
    assert (step.challenge, step.password) == (challenge.data, None)


@given(NONEMPTY.filter(lambda name: " " not in name), TEXT, TEXT, st.booleans())
def test_apop_round_trip(username: str, password: str, other: str, upper: bool) -> None:
    timestamp = make_challenge("pop.example")
    digest = apop_digest(timestamp, password)
    step = apop_credentials(username, timestamp, digest.upper() if upper else digest)
    proves(step, username, password, other)
