"""The `json` python-socketio and python-engineio use for packets: orjson to encode, with the
standard library as fallback, and the standard library to decode.

Encoding is the gateway's hot path (every ack carries a job), hence orjson (bench
claim_throughput compares). Decoding stays standard: orjson turns integers
beyond 64 bits into floats and refuses lone surrogates, which standard JSON carries — such an
event would be changed, or never answered, instead of refused with a clear ack.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any, **options: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # beyond orjson: an integer over 64 bits, a lone surrogate
        return json.dumps(value, **options)


def loads(text: str | bytes, **options: Any) -> Any:
    return json.loads(text, **options)
