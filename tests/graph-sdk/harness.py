"""The onramp server under test, its Redis, and tokens.

Each store gets one onramp process for the whole session (a Redis store also
gets its own redis-server on a free loopback port, so a Redis you already run
is never touched). The configuration is generated: two clients with the
client-credentials grant, `graph-admin` with every admin permission these
tests need and `graph-reader` with only `User.ReadWrite.All` (for 403s).
A missing binary is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

ADMIN_CLIENT = "graph-admin"
ADMIN_SECRET = "graph-admin-secret-for-tests-only"
ADMIN_PERMISSIONS = [
    "User.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "Policy.ReadWrite.AuthenticationMethod",
    "AuditLog.Read.All",
    "Group.ReadWrite.All",
]
READER_CLIENT = "graph-reader"
READER_SECRET = "graph-reader-secret-for-tests-only"
READER_PERMISSIONS = ["User.ReadWrite.All"]

BOOTSTRAP_ADMIN = "admin@localhost"


def onramp_bin() -> Path:
    default = ROOT / os.environ.get("CARGO_TARGET_DIR", "target") / "debug" / "onramp"
    path = Path(os.environ.get("ONRAMP_BIN") or default)
    if not path.is_absolute():
        path = Path.cwd() / path
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


class Redis:
    """A throwaway redis-server on a free loopback port."""

    def __init__(self, workdir: Path):
        binary = os.environ.get("REDIS_SERVER", "redis-server")
        found = shutil.which(binary)
        if not found:
            raise RuntimeError(
                f"redis-server not found ({binary}): install Debian's redis-server "
                "package or set REDIS_SERVER; the Redis store is part of the contract"
            )
        self.binary = found
        self.dir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.dir),
                "--save", "",
                "--appendonly", "yes",
                "--daemonize", "no",
                "--loglevel", "warning",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace") if self.proc.stdout else ""
                raise RuntimeError(f"redis-server exited ({self.proc.returncode}):\n{out}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING within 15 s")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        _stop(self.proc)


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Onramp:
    """The onramp binary with a generated config, on a free port."""

    def __init__(self, workdir: Path, store_url: str, store: str):
        self.binary = onramp_bin()
        if not self.binary.is_file():
            raise RuntimeError(
                f"onramp binary not found at {self.binary}: run "
                "`cargo build --locked --bin onramp` or set ONRAMP_BIN"
            )
        self.store = store
        self.dir = workdir
        self.port = free_port()
        # The issuer's host must be a domain name for passkeys: localhost.
        self.base = f"http://localhost:{self.port}"
        self.api = f"{self.base}/api/v1"
        self.log_path = workdir / "onramp.log"
        self.config_path = workdir / "onramp.toml"
        self.config_path.write_text(
            f"""
[server]
listen = "127.0.0.1:{self.port}"
issuer = "{self.base}"
workers = 2

[store]
url = "{store_url}"
prefix = "graphsdk"

[bootstrap]
pass_file = "{workdir / 'bootstrap-pass.txt'}"

[tokens]
rate_limit_per_client = 0

[log]
level = "warn"

[[clients]]
id = "{ADMIN_CLIENT}"
name = "Graph SDK contract tests"
secret = "{ADMIN_SECRET}"
grant_types = ["client_credentials"]
permissions = {_toml_list(ADMIN_PERMISSIONS)}

[[clients]]
id = "{READER_CLIENT}"
name = "Graph SDK contract tests (users only)"
secret = "{READER_SECRET}"
grant_types = ["client_credentials"]
permissions = {_toml_list(READER_PERMISSIONS)}
"""
        )
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> None:
        # ONRAMP_* variables would override the file (and unknown ones such as
        # ONRAMP_BIN are refused): the server gets none of them.
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONRAMP_")}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(self.binary), "--config", str(self.config_path), "serve"],
            cwd=self.dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"onramp ({self.store} store) exited with {self.proc.returncode} before it "
                    f"was healthy:\n{self.output()}"
                )
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"onramp was not healthy within 30 s:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except OSError:
            return ""

    def token(self, client: str, secret: str) -> str:
        res = httpx.post(
            f"{self.base}/token",
            auth=(client, secret),
            data={"grant_type": "client_credentials"},
            timeout=10,
        )
        assert res.status_code == 200, f"client credentials for {client}: {res.status_code} {res.text}"
        return res.json()["access_token"]

    def stop(self) -> None:
        _stop(self.proc)
        if self._log:
            self._log.close()
