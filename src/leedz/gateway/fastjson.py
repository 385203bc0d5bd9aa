"""orjson behind the two functions python-socketio and python-engineio call on their `json`.

Their packets are encoded with the standard library by default; orjson does it several times
faster (bench/dispatch.py claim_throughput). Its output is already compact, so the `separators`
the libraries pass are not needed.
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes, **_: Any) -> Any:
    return orjson.loads(text)
