"""A real MariaDB with the `server_audit` plugin (Debian's package; RDS for MySQL and MariaDB write their audit logs
with this plugin), for tests that read lines the plugin wrote rather than lines we wrote.

The session fixture `mariadb` starts one private server per test run (scripts/mariadb.sh up: own directory, data,
socket and free port on 127.0.0.1, run as the unprivileged `mysql` user when the tests run as root) and stops it at
the end. Without MariaDB installed (`make mariadb`) the tests skip locally and fail under CI=true.

The API, kept small for the tests of sessions and detections to reuse:

    mariadb.port, mariadb.socket, mariadb.host          where to connect (TCP on 127.0.0.1, or the socket)
    mariadb.connect(user, password, database=..., tcp=True)   a PyMySQL connection (raises on a failed login)
    mariadb.sql("CREATE USER …")                        statements as root over the socket; rows of the last one
    mariadb.change_user(conn, user, password, database) COM_CHANGE_USER, which PyMySQL has no method for
    mariadb.rotate()                                    close the current audit file (server_audit_file_rotate_now)
    mariadb.audit_files()                               the audit files, oldest first, current one last
    mariadb.audit_lines()                               their lines (bytes), in the order the plugin wrote them

The plugin writes each record with one write(2) on a file opened without buffering, so a line is in the file when
the statement's reply arrives: no flush is needed before reading. Several tests share the server: select your own
lines (by user name or connection id: `conn.thread_id()`), never assume the log holds only yours.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "mariadb.sh"
# Small files and many of them: every test run goes through several real rotations, none is deleted.
ROTATE_SIZE = 65536
ROTATIONS = 40
QUERY_LOG_LIMIT = 1024  # RDS's default server_audit_query_log_limit


@dataclass
class MariaDB:
    dir: Path
    port: int
    socket: str
    audit_dir: Path
    host: str = "127.0.0.1"
    query_log_limit: int = QUERY_LOG_LIMIT
    rotations: int = ROTATIONS

    def connect(
        self, user: str = "root", password: str = "", *, database: str | None = None, tcp: bool = True, **kw: Any
    ) -> Any:
        import pymysql

        where: dict[str, Any] = {"host": self.host, "port": self.port} if tcp else {"unix_socket": self.socket}
        return pymysql.connect(
            user=user, password=password, database=database, charset="utf8mb4", autocommit=True, **where, **kw
        )

    def sql(self, *statements: str) -> list[tuple[Any, ...]]:
        conn = self.connect(tcp=False)
        try:
            rows: list[tuple[Any, ...]] = []
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
                    rows = list(cur.fetchall())
            return rows
        finally:
            conn.close()

    def change_user(self, conn: Any, user: str, password: str, database: str = "") -> None:
        """COM_CHANGE_USER on an open PyMySQL connection (mysql_native_password accounts): the server
        re-authenticates the session as `user` and logs a CHANGEUSER record. Raises pymysql.err.OperationalError
        when the server refuses (1045), as a failed login does."""
        from pymysql import _auth
        from pymysql.charset import charset_by_name
        from pymysql.constants import CLIENT, COMMAND

        scramble = _auth.scramble_native_password(password.encode(), conn.salt) if password else b""
        payload = (
            bytes([COMMAND.COM_CHANGE_USER])
            + user.encode()
            + b"\0"
            + bytes([len(scramble)])
            + scramble
            + database.encode()
            + b"\0"
            + struct.pack("<H", charset_by_name(conn.charset).id)
            + b"mysql_native_password\0"
            + (b"\0" if conn.client_flag & CLIENT.CONNECT_ATTRS else b"")  # no attributes
        )
        conn._next_seq_id = 0
        conn.write_packet(payload)
        packet = conn._read_packet()  # raises the server's error (1045) as PyMySQL does for any command
        if packet.is_auth_switch_request():
            packet.read_uint8()
            plugin = packet.read_string()
            data = _auth.scramble_native_password(password.encode(), packet.read_all()[:20]) if password else b""
            if plugin != b"mysql_native_password":
                raise RuntimeError(f"change_user: the server asked for {plugin!r}")
            conn.write_packet(data)
            conn._read_packet()
        conn.user, conn.password, conn.db = user, password.encode(), database.encode() or None

    def rotate(self) -> None:
        self.sql("SET GLOBAL server_audit_file_rotate_now = ON")

    def audit_files(self) -> list[Path]:
        def number(p: Path) -> int:
            suffix = p.name.rsplit(".", 1)[-1]
            return int(suffix) if suffix.isdigit() else 0

        files = sorted(self.audit_dir.glob("server_audit.log*"), key=number, reverse=True)
        if any(number(p) >= self.rotations for p in files):
            raise AssertionError(f"the audit log rotated past {self.rotations} files: the oldest lines are gone")
        return files

    def audit_lines(self) -> list[bytes]:
        return [line for p in self.audit_files() for line in p.read_bytes().split(b"\n") if line]


def start(**env: str) -> MariaDB:
    """A new private server (scripts/mariadb.sh up), for a fixture of a different configuration than the shared
    one; stop it with `stop`."""
    settings = {
        "MARIADB_AUDIT_ROTATE_SIZE": str(ROTATE_SIZE),
        "MARIADB_AUDIT_ROTATIONS": str(ROTATIONS),
        "MARIADB_QUERY_LOG_LIMIT": str(QUERY_LOG_LIMIT),
        **env,
    }
    out = subprocess.run(
        [str(SCRIPT), "up"], env={**os.environ, **settings}, capture_output=True, text=True, timeout=180, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"scripts/mariadb.sh up failed: {out.stderr.strip()[-2000:]}")
    info = dict(re.findall(r"^(\w+)=(.*)$", out.stdout, re.M))
    return MariaDB(
        dir=Path(info["dir"]),
        port=int(info["port"]),
        socket=info["socket"],
        audit_dir=Path(info["audit_dir"]),
        query_log_limit=int(settings["MARIADB_QUERY_LOG_LIMIT"]),
        rotations=int(settings["MARIADB_AUDIT_ROTATIONS"]),
    )


def stop(server: MariaDB) -> None:
    subprocess.run([str(SCRIPT), "down", str(server.dir)], capture_output=True, timeout=120, check=False)


def missing() -> str | None:
    """Why no server can start here, or None."""
    if shutil.which("mariadbd") is None or not any(
        Path(d, "server_audit.so").exists() for d in ("/usr/lib/mysql/plugin",)
    ):
        return "MariaDB with server_audit is not installed (make mariadb)"
    try:
        import pymysql  # noqa: F401
    except ImportError:
        return "PyMySQL is not installed (make venv)"
    return None


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDB]:
    problem = missing()
    if problem:
        _unavailable(problem)
    try:
        server = start()
    except RuntimeError as e:
        _unavailable(str(e))
        raise
    try:
        yield server
    finally:
        stop(server)
