"""Access-token claim sets with every claim mutated into a shape the server never issues.

A mutation drops a claim or replaces it with a value of another JSON type (lists, objects,
numbers, huge integers, booleans, null, strings that are not what the claim holds), and may add
extra claims. The tokens are signed with the server's real secret: only the claims' shapes stand
between them and a session, so the answer must be 401 `invalid_token` (200 when only extra claims
were added), never a 500.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import jwt
from hypothesis import HealthCheck, example, given
from hypothesis import strategies as st

from leedz.kit.jwt import ALGORITHM, AUDIENCE, ISSUER, key_id

UUID_CLAIMS = ("sub", "tid", "jti")
TIME_CLAIMS = ("iat", "nbf", "exp")
CONSTANT_CLAIMS = {"typ": "access", "iss": ISSUER, "aud": AUDIENCE}
CLAIMS = (*UUID_CLAIMS, *CONSTANT_CLAIMS, *TIME_CLAIMS)
# The server issues integer times; beyond 9999-12-31 no datetime can hold one.
MAX_NUMERIC_DATE = 253_402_300_799

_DELETE = object()

# Python's json writes and reads NaN and Infinity, and so does PyJWT: a hostile token may too.
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**31, 2**53 + 1, 2**63, -(2**63), 2**64, 10**400, -(10**400)])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
json_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _is_canonical_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


_not_uuids = (
    json_values.filter(lambda v: not _is_canonical_uuid(v))
    | st.uuids().map(lambda u: u.hex)  # a UUID, but not in the form the server issues
    | st.uuids().map(lambda u: str(u).upper())
    | st.uuids().map(lambda u: f"{{{u}}}")
    | st.uuids().map(lambda u: f"urn:uuid:{u}")
)
_not_times = json_values.filter(lambda v: type(v) is not int) | st.integers().filter(
    lambda v: not 0 <= v <= MAX_NUMERIC_DATE
)


def _replacement(claim: str) -> st.SearchStrategy[Any]:
    if claim in UUID_CLAIMS:
        return _not_uuids
    if claim in TIME_CLAIMS:
        return _not_times
    expected = CONSTANT_CLAIMS[claim]
    return json_values.filter(lambda v: not (isinstance(v, str) and v == expected)) | st.just(
        expected.upper()
    )


@dataclass
class Mutation:
    changed: dict[str, Any] = field(default_factory=dict)  # claim -> new value, or _DELETE
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def breaks_the_token(self) -> bool:
        return bool(self.changed)

    def apply(self, claims: dict[str, Any]) -> dict[str, Any]:
        out = {**claims, **self.extra}
        for claim, value in self.changed.items():
            if value is _DELETE:
                out.pop(claim, None)
            else:
                out[claim] = value
        return out

    def __repr__(self) -> str:
        changed = {k: ("<deleted>" if v is _DELETE else v) for k, v in self.changed.items()}
        return f"Mutation(changed={changed!r}, extra={self.extra!r})"


@st.composite
def mutations(draw: st.DrawFn, *, allow_unbroken: bool = True) -> Mutation:
    """Some claims dropped or replaced (at least one unless `allow_unbroken`), extras added."""
    chosen = draw(
        st.lists(st.sampled_from(CLAIMS), unique=True, min_size=0 if allow_unbroken else 1)
    )
    changed = {claim: draw(st.just(_DELETE) | _replacement(claim)) for claim in sorted(chosen)}
    extra = draw(
        st.dictionaries(
            st.text(max_size=12).filter(lambda k: k not in CLAIMS), json_values, max_size=3
        )
    )
    return Mutation(changed=changed, extra=extra)


def genuine_claims(*, user_id: str, tenant_id: str, token_id: str) -> dict[str, Any]:
    """The claims the server would issue for this session, now."""
    now = int(time.time())
    return {
        "sub": user_id,
        "tid": tenant_id,
        "jti": token_id,
        "typ": "access",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }


def sign_raw(claims: dict[str, Any], secret: str) -> str:
    """An HS256 JWS over exactly these claims (jwt.encode refuses some shapes, a forger not)."""
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return jwt.api_jws.encode(payload, secret, algorithm=ALGORITHM, headers={"kid": key_id(secret)})


def claim_shapes(examples: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The property test over claim shapes: `examples` mutations of a genuine token, plus the
    shapes that once got through pinned as examples (they reproduce on every run)."""

    def decorate(test: Callable[..., Any]) -> Callable[..., Any]:
        for pinned in (
            Mutation(extra={"scope": ["admin"]}),
            Mutation(changed={"exp": True}),
            Mutation(changed={"tid": ["x"]}),  # the attack run's token
        ):
            test = example(mutation=pinned)(test)
        test = given(mutation=mutations())(test)
        settings = hypothesis.settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        decorated: Callable[..., Any] = settings(test)
        return decorated

    return decorate
