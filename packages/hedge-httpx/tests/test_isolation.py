"""In a fresh virtualenv holding only hedge-core, hedge-httpx and one framework.

These tests build a virtualenv (with ``uv`` when it is on PATH, which takes
seconds; with ``venv`` and pip otherwise), install the two local packages
and the framework version installed here, and run a hedged request through
both transports in it. They prove that hedge-httpx needs nothing else, and
that what it imports is the standard library, the framework's own
dependency closure, pluggy and hedge: nothing more.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import sys
baseline = set(sys.modules)

import hedge_httpx

import asyncio
import importlib
import json
import re
import sysconfig
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata

framework = sys.argv[1]
roots = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}


def third_party_since(before):
    return sorted(
        {
            name.split(".")[0]
            for name, mod in list(sys.modules.items())
            if name not in before
            and any(str(getattr(mod, "__file__", None) or "").startswith(root) for root in roots)
        }
    )


package_only = third_party_since(baseline)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if "x-hedge-attempt" not in self.headers:
            time.sleep(2.0)  # every primary is slow: the hedge wins
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        try:
            self.wfile.write(b"ok")
        except OSError:
            pass

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/" % server.server_address[1]

from hedge import HedgeConfig

module = importlib.import_module(framework)
suffix = "" if framework == "httpx" else "2"
AsyncTransport = getattr(hedge_httpx, "HedgedHttpx%sTransport" % suffix)
SyncTransport = getattr(hedge_httpx, "HedgedHttpx%sSyncTransport" % suffix)
config = HedgeConfig(
    min_delay=0.05, max_delay=0.05, warmup_delay=0.05, budget_percent=100.0, attempt_header="x-hedge-attempt"
)


async def main():
    async with module.AsyncClient(transport=AsyncTransport(config=config)) as client:
        response = await client.get(url)
        return response.text, client._transport.stats.snapshot().hedge_wins


text, async_wins = asyncio.run(main())
with module.Client(transport=SyncTransport(config=config)) as client:
    sync_text = client.get(url).text
    sync_wins = client._transport.stats.snapshot().hedge_wins
server.shutdown()

third_party = third_party_since(baseline)


def closure(names):
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # excluded by its environment marker
        seen.add(name)
        for requirement in requirements:
            if "extra ==" not in requirement:
                todo.append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
    return seen


def top_level(distribution):
    dist = metadata.distribution(distribution)
    names = set()
    for file in dist.files or ():
        parts = file.parts
        if parts and not parts[0].endswith((".dist-info", ".pth")) and parts[0] != "..":
            names.add(parts[0][:-3] if parts[0].endswith(".py") else parts[0])
    return names


allowed = set()
for distribution in closure(["hedge-httpx", framework]):
    allowed |= top_level(distribution)
print(json.dumps({
    "package_only": package_only,
    "third_party": third_party,
    "allowed": sorted(allowed),
    "distributions": sorted(d.metadata["Name"].lower() for d in metadata.distributions()),
    "answers": [text, sync_text],
    "hedge_wins": [async_wins, sync_wins],
}))
"""


def _build_venv(root: Path, framework: str) -> Path:
    version = metadata.version(framework)
    requirements = [str(PACKAGES / "hedge-core"), str(PACKAGES / "hedge-httpx"), f"{framework}=={version}"]
    uv = shutil.which("uv")
    if uv is not None:
        subprocess.run(
            [uv, "venv", "--quiet", "--python", sys.executable, str(root)], check=True, timeout=300
        )
        python = root / "bin" / "python"
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--no-sources", "--python", str(python), *requirements],
            check=True,
            timeout=600,
        )
    else:
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
        python = root / "bin" / "python"
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
            check=True,
            timeout=600,
        )
    return python


def test_only_the_framework_pluggy_and_hedge_are_imported(framework: Any, tmp_path: Path) -> None:
    python = _build_venv(tmp_path / "venv", framework.name)
    completed = subprocess.run(
        [str(python), "-c", SCRIPT, framework.name], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)

    # The venv holds what was asked for (plus the framework's dependencies).
    assert {"hedge-core", "hedge-httpx", "pluggy", framework.name} <= set(report["distributions"])
    assert not {"pytest", "openai", "uvicorn", "httpx2" if framework.name == "httpx" else "httpx"} & set(
        report["distributions"]
    )
    # Importing the package imports nothing from outside the stdlib but hedge.
    assert "hedge_httpx" in report["package_only"]
    assert set(report["package_only"]) <= {"hedge", "hedge_httpx"}
    # Using it imports only the framework's dependency closure, pluggy and hedge.
    assert {"hedge", "hedge_httpx", "pluggy", framework.name} <= set(report["third_party"])
    assert set(report["third_party"]) <= set(report["allowed"])
    assert report["answers"] == ["ok", "ok"]
    assert report["hedge_wins"] == [1, 1]
