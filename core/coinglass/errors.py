"""What can go wrong when talking to CoinGlass, as one small tree.

CoinGlass reports most key and plan errors as HTTP 200 with a body ``code`` and ``msg``
(coinglass-v4.md §2.3, §3); the client classifies by message text, because codes vary::

    CoinGlassError                      catch this and nothing escapes
    ├── AuthError                       the key itself is the problem: stop using it
    │   ├── InvalidKey                  "Invalid API key provided"
    │   └── MissingKey                  "API key missing." (no key sent)
    ├── PlanTooLow                      "Upgrade plan": endpoint or interval above the plan
    │   └── NoActivePlan                the subscription lapsed: "Upgrade plan" everywhere
    ├── RateLimited                     HTTP 429 or body code 429 / "too many requests"
    ├── BadParameters                   body code 400/422 about parameters
    ├── UpstreamError                   CoinGlass failed: HTTP 5xx, body code 500, unknown code
    │   ├── EndpointNotFound            HTTP 404 (a wrong path, not a plan problem)
    │   └── MalformedResponse           not JSON, or not the shape the endpoint promises
    └── TransportError                  no answer: connection refused, reset, DNS
        └── Timeout                     no answer in time

Messages name the endpoint and the problem. They never contain the API key, request headers
or the raw upstream body, so they are safe to log and to show a user.
"""

from __future__ import annotations


class CoinGlassError(Exception):
    """Base of every CoinGlass failure. ``retryable`` says whether trying later may help."""

    retryable = False

    def __init__(self, message: str, *, endpoint: str | None = None):
        super().__init__(message)
        self.endpoint = endpoint


class AuthError(CoinGlassError):
    """The key is not usable (invalid, revoked or absent)."""


class InvalidKey(AuthError):
    pass


class MissingKey(AuthError):
    pass


class PlanTooLow(CoinGlassError):
    """CoinGlass said "Upgrade plan" for this endpoint (or interval)."""


class RateLimited(CoinGlassError):
    retryable = True

    def __init__(self, message: str, *, endpoint: str | None = None,
                 retry_after: float | None = None):
        super().__init__(message, endpoint=endpoint)
        self.retry_after = retry_after


class BadParameters(CoinGlassError):
    pass


class UpstreamError(CoinGlassError):
    retryable = True


class EndpointNotFound(UpstreamError):
    retryable = False


class MalformedResponse(UpstreamError):
    pass


class TransportError(CoinGlassError):
    retryable = True


class Timeout(TransportError):
    pass


class NoActivePlan(PlanTooLow):
    """The key is valid but its subscription has lapsed: every endpoint says "Upgrade plan"."""
