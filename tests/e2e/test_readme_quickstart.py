"""The README's "first five minutes" run exactly as written, against a running platform:
the ledger and the overdue service as ``scripts/up.sh`` starts them (``python -m <service>``,
development mode, a simulated business clock), each on a fresh database and a private
topic namespace, on ports of their own. The block between the quickstart markers is fed
to bash with ``-e`` (every ``curl -f`` must succeed); its answers must show the loan going
overdue and being cured."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from lendkit.migrations import upgrade
from lendkit.testing import KAFKA, create_platform_topics, fresh_database, unique

ROOT = Path(__file__).resolve().parents[2]
BASH = shutil.which("bash") or "/bin/bash"
BLOCK = re.compile(r"<!-- quickstart:begin -->\s*```bash\n(.*?)```\s*<!-- quickstart:end -->", re.S)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
async def platform() -> AsyncIterator[dict[str, str]]:
    namespace = unique("qs") + "."
    await create_platform_topics(namespace)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    urls: dict[str, str] = {}
    for name in ("ledger", "overdue"):
        url = await fresh_database(f"{name}_quickstart")
        await asyncio.to_thread(upgrade, name, url)
        port = _free_port()
        prefix = name.upper()
        env |= {
            f"{prefix}_DATABASE_URL": url,
            f"{prefix}_HTTP_PORT": str(port),
            f"{prefix}_TOPIC_NAMESPACE": namespace,
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
            f"{prefix}_DEVELOPMENT_MODE": "true",
            f"{prefix}_CONSUMER_GROUP": unique(f"{name}-qs"),
        }
        urls[prefix] = f"http://127.0.0.1:{port}"
    env["LEDGER_SIMULATED_CLOCK"] = "true"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            name,
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for name in ("ledger", "overdue")
    ]
    try:
        async with httpx.AsyncClient() as client:
            for base in urls.values():
                for _ in range(600):
                    try:
                        if (await client.get(f"{base}/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError(f"{base} never became ready")
        yield {**env, **urls}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await asyncio.wait_for(process.wait(), timeout=30)


def test_the_readme_quickstart_walks_a_loan_to_overdue_and_back(platform: dict[str, str]) -> None:
    found = BLOCK.search((ROOT / "README.md").read_text())
    assert found, "README.md has no quickstart block"
    done = subprocess.run(
        [BASH, "-e", "-o", "pipefail", "-c", found.group(1)],
        cwd=ROOT,
        env=platform,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert '"loan_id":"QS-L-1"' in out.replace(" ", "")
    assert '"days_past_due":5' in out and '"overdue_from":"2026-02-09"' in out
    assert '"days_past_due":0' in out
    assert '"stage":"current"' in out
