"""A real gunicorn serving Comptoir for the tests that need one (the browser tests, the HTTP contention test)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def serve(env: dict[str, str], log: Path, *, workers: int = 2, threads: int = 4) -> Iterator[str]:
    """Start gunicorn on a free port with `env`, wait until /healthz answers 200 (60 s at most), yield its URL,
    stop it afterwards. A server that stops or never answers fails the test with the end of its log."""
    port = free_port()
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "comptoir.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--threads", str(threads), "--timeout", "60", "--backlog", "256",
             "--access-logfile", "-"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app server stopped (exit {process.returncode}):\n{_tail(log)}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:
            pytest.fail(f"the app server answers /healthz with HTTP {error.code}:\n{_tail(log)}", pytrace=False)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet: poll again shortly
        time.sleep(0.2)
    pytest.fail(f"the app server did not answer /healthz within 60 s:\n{_tail(log)}", pytrace=False)
