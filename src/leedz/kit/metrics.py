"""Prometheus metrics. Labels use the route template, never the raw path (bounded cardinality)."""

from __future__ import annotations

from functools import lru_cache

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "leedz_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "leedz_http_request_duration_seconds",
    "Time from request start to the end of the response, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


@lru_cache(maxsize=2048)
def _request_children(method: str, route: str, status: str) -> tuple[Counter, Histogram]:
    # Label lookups take a lock and a dict walk; a route's children are fixed once created.
    return HTTP_REQUESTS.labels(method, route, status), HTTP_LATENCY.labels(method, route)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    counter, latency = _request_children(method, route, str(status))
    counter.inc()
    latency.observe(seconds)
