"""The JS workflow app of the integration tests: tests/integration/js/workflow_server.mjs, the
unchanged @upstash/workflow SDK served by node on 127.0.0.1 (the `js` fixture starts it)."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "tests" / "integration" / "js" / "workflow_server.mjs"


class JsApp:
    def __init__(self, process: subprocess.Popen, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"

    def post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read())

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(self.url + "/counts", timeout=5) as response:
            return json.loads(response.read())
