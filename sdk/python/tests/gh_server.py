"""Starts one real `gatehouse serve --dev` for the tests of this process.

The binary is $GATEHOUSE_BIN, or is built with `go build` from the
repository (sdk/python/../..). The server gets a fresh data directory and a
free loopback port, and is stopped when the process exits."""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import socket
import subprocess
import tempfile
import time
import urllib.request
from typing import Dict, Optional

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# The tests run against the installed package (pip install ./sdk/python);
# from a checkout without it, against the source tree.
if importlib.util.find_spec("gatehouse") is None:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

_server: Optional["Server"] = None


class Server:
    """A running gatehouse serve --dev."""

    def __init__(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="gatehouse-py-")
        binary = os.environ.get("GATEHOUSE_BIN", "")
        if not binary:
            binary = os.path.join(self.tmp, "gatehouse")
            subprocess.run(["go", "build", "-o", binary, "./cmd/gatehouse"], cwd=REPO, check=True)
        data = os.path.join(self.tmp, "data")
        self.log = open(os.path.join(self.tmp, "serve.log"), "wb")
        for _ in range(5):
            port = _free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.proc = subprocess.Popen([binary, "serve", "--dev", "--data", data, "--addr", f"127.0.0.1:{port}",
                                          "--log-level", "warn"], stdout=self.log, stderr=subprocess.STDOUT)
            if self._wait_ready():
                break
            self.proc.kill()
            self.proc.wait()
            shutil.rmtree(data, ignore_errors=True)
        else:
            raise RuntimeError("gatehouse serve did not become ready; log in " + self.log.name)
        self.keys = _read_keys(os.path.join(data, "demo-keys.env"))

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_keys(path: str) -> Dict[str, str]:
    keys = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export ") and "=" in line:
                k, v = line[len("export "):].split("=", 1)
                keys[k] = v
    return keys


def server() -> Server:
    """The process's server, started on first use."""
    global _server
    if _server is None:
        _server = Server()
        atexit.register(_server.stop)
    return _server
