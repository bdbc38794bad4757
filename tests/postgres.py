"""A throwaway PostgreSQL server for the end-to-end tests, and a way to query it.

The cluster lives in a temporary directory (``initdb`` + ``pg_ctl``, as the ``postgres`` user
when run as root, since PostgreSQL refuses to run as root), listens on 127.0.0.1 only, trusts
local connections, and is removed when the block ends. It needs the server binaries of the
Debian package ``postgresql`` (``.ci/run`` installs it); :func:`find_bindir` says whether they
are there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

USER = "postgres"
DATABASE = "postgres"


def find_bindir() -> Path | None:
    """The directory of ``initdb``/``pg_ctl``/``psql``: newest ``/usr/lib/postgresql/*/bin``."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    for path in reversed(candidates):
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own on a free loopback port, for one ``with`` block."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = _free_port()
        self.host = "127.0.0.1"
        self.directory = Path(tempfile.mkdtemp(prefix="tap-matomo-pg-"))
        self.data = self.directory / "data"
        #: ``runuser -u postgres --`` when root (initdb and postgres refuse root).
        self._as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, user=USER)
            self._as_owner = ["runuser", "-u", USER, "--"]

    def _run(self, *command: str) -> None:
        subprocess.run(
            [*self._as_owner, *command],
            check=True,
            capture_output=True,
            text=True,
            cwd=self.directory,
        )

    def __enter__(self) -> ThrowawayPostgres:
        try:
            self._run(
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
            options = (
                f"-c listen_addresses={self.host} -p {self.port} -k {self.directory} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.directory / "server.log"),
                "-w",
                "start",
            )
        except subprocess.CalledProcessError as error:
            log = self.directory / "server.log"
            detail = log.read_text() if log.exists() else ""
            self._remove()
            raise RuntimeError(
                f"could not start PostgreSQL: {error.stderr or error.stdout}{detail}"
            ) from error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            self._remove()

    def _remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def target_config(self, schema: str) -> dict[str, object]:
        """Connection settings for MeltanoLabs target-postgres, loading into ``schema``."""
        return {
            "host": self.host,
            "port": self.port,
            "user": USER,
            "password": "",
            "database": DATABASE,
            "default_target_schema": schema,
        }

    def query(self, sql: str) -> list[list[str]]:
        """Rows of a query as text, through ``psql`` (NULL as ``\\N``)."""
        done = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                USER,
                "-d",
                DATABASE,
                "-At",
                "-F",
                "\t",
                "-P",
                "null=\\N",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return [line.split("\t") for line in done.stdout.splitlines()]
