"""Database URL handling: the plain `postgresql://` form that hosting providers hand out."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def async_url(url: str) -> URL:
    """SQLAlchemy URL for asyncpg from a plain `postgres(ql)://` URL.

    Neon adds `sslmode=require` and `channel_binding=...`: asyncpg takes `ssl` instead, and knows no
    channel binding option, so both are translated or dropped here.
    """
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    query = dict(parsed.query)
    sslmode = query.pop("sslmode", None)
    query.pop("channel_binding", None)
    if sslmode is not None and "ssl" not in query:
        query["ssl"] = sslmode
    return parsed.set(query=query)


def driver_dsn(url: str) -> str:
    """A DSN for asyncpg itself: no `+driver`, and no `channel_binding` (asyncpg would send it to
    the server as a setting, which PostgreSQL refuses)."""
    parsed = make_url(url)
    query = {k: v for k, v in parsed.query.items() if k != "channel_binding"}
    parsed = parsed.set(drivername="postgresql", query=query)
    return parsed.render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)
