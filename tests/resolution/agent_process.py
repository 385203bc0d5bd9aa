"""One agent as an OS process of its own: uploads its batches of evidence through the REST twin.

    python -m tests.resolution.agent_process CONFIG.json RESULT.json

CONFIG holds `{base, token, jobId, leaseId, batches: [[item, …], …]}`. The process says
`ready` on stdout, waits for a line on stdin (so that every agent starts at once), uploads its
batches one after the other and writes, per batch, the status and the answer to RESULT.
`409 resolution_busy` is retried, as the protocol says (the upload is idempotent); any other
status is recorded and ends the run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

BUSY_RETRIES = 5


def run(config: dict[str, Any]) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {config['token']}"}
    answers: list[dict[str, Any]] = []
    retries = 0
    with httpx.Client(base_url=config["base"], timeout=60, headers=headers) as http:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        sys.stdin.readline()
        started = time.monotonic()
        for batch in config["batches"]:
            for attempt in range(BUSY_RETRIES + 1):
                response = http.post(
                    f"/v1/agent/jobs/{config['jobId']}/evidence",
                    json={"leaseId": config["leaseId"], "items": batch},
                )
                busy = response.status_code == 409 and response.json().get("code") == (
                    "resolution_busy"
                )
                if not busy or attempt == BUSY_RETRIES:
                    break
                retries += 1
            body = (
                response.json()
                if response.headers.get("content-type", "").endswith("json")
                else {"text": response.text}
            )
            answers.append({"status": response.status_code, "body": body})
            if response.status_code != 200:
                break
    return {"answers": answers, "busyRetries": retries, "seconds": time.monotonic() - started}


def main() -> None:
    config_path, result_path = sys.argv[1:3]
    result = run(json.loads(Path(config_path).read_text()))
    Path(result_path).write_text(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
