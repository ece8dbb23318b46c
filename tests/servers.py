"""Pytest plugin that starts throwaway database servers for the test session.

Load it with ``pytest_plugins = ["tests.servers"]`` in ``tests/conftest.py``. It provides
two session-scoped fixtures:

``postgres_server`` -> :class:`PostgresServer`
    A private PostgreSQL 15 cluster (``initdb`` + ``pg_ctl``) in a temporary directory,
    listening on a free loopback port, with trust authentication and the database
    ``sqlspec_test``. Durability is switched off (``fsync=off`` ...) for speed.

``pgbouncer_server`` -> :class:`PgBouncerServer`
    A throwaway PgBouncer (Debian's ``pgbouncer`` package) in front of ``postgres_server``, on a
    free loopback port, trust authentication, a small shared server pool
    (``default_pool_size`` 3). ``server.connection(pool_mode)`` gives the parameters of the
    database alias pooled in ``"transaction"`` (the default), ``"statement"`` or ``"session"``
    mode; ``server.admin`` those of PgBouncer's admin console (``SHOW POOLS`` ...).

``mariadb_server`` -> :class:`MariaDBServer`
    A private MariaDB server (``mariadb-install-db`` + ``mariadbd``) in a temporary
    directory, listening on a free loopback port, with the database ``sqlspec_test`` and
    the user ``sqlspec``/``sqlspec`` that has all privileges on it.

Both servers are stopped and their directories removed at the end of the session, also
when tests fail or the session is interrupted (``atexit`` is a backstop).

Environment variables:

``SQLSPEC_PG_DSN``
    Use an existing PostgreSQL server instead, e.g.
    ``postgresql://user:secret@db.example:5432/sqlspec_test``. Nothing is started.
``SQLSPEC_PG_BIN``
    Directory holding ``initdb``/``pg_ctl`` (default ``/usr/lib/postgresql/15/bin``).
``SQLSPEC_PGBOUNCER``
    Path of the ``pgbouncer`` binary (default: ``PATH``, ``/usr/sbin``).
``SQLSPEC_MARIADB_BIN``
    Directory holding ``mariadbd``/``mariadb-install-db`` (default: ``PATH``,
    ``/usr/sbin``, ``/usr/bin``).
``CI``
    When set (non-empty), a missing server binary fails the tests that need it instead of
    skipping them: in CI a test that cannot reach its server must not pass silently.

When running as root, PostgreSQL and PgBouncer run as the ``postgres`` OS user and MariaDB as
the ``mysql`` OS user (all refuse to run as root); the Debian packages create these users.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, unquote, urlsplit

import pytest

__all__ = [
    "MariaDBServer",
    "PgBouncerServer",
    "PostgresServer",
    "mariadb_server",
    "pgbouncer_server",
    "postgres_server",
    "private_mariadb",
    "private_postgres",
]

DEFAULT_PG_BIN = "/usr/lib/postgresql/15/bin"
PG_USER = "sqlspec"
TEST_DATABASE = "sqlspec_test"
MARIADB_USER = "sqlspec"
MARIADB_PASSWORD = "sqlspec"
LOOPBACK = "127.0.0.1"
START_TIMEOUT = 60.0
_MARIADB_SEARCH_PATH = ("/usr/sbin", "/usr/bin")


# --------------------------------------------------------------------------- data classes


def _conninfo_value(value: str) -> str:
    """Quote ``value`` for a libpq keyword/value connection string."""
    if value and not any(c in value for c in " '\\\t\n"):
        return value
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


@dataclass(frozen=True)
class PostgresServer:
    """Connection parameters of a running PostgreSQL server."""

    host: str
    port: int
    user: str
    dbname: str
    password: str = ""
    """Empty for the throwaway cluster (trust authentication)."""

    @property
    def dsn(self) -> str:
        """URL form, e.g. ``postgresql://sqlspec@127.0.0.1:54321/sqlspec_test``."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{auth}@{host}:{self.port}/{quote(self.dbname, safe='')}"

    @property
    def conninfo(self) -> str:
        """libpq keyword/value form, e.g. ``host=127.0.0.1 port=54321 user=... dbname=...``."""
        parts = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "dbname": self.dbname,
        }
        if self.password:
            parts["password"] = self.password
        return " ".join(f"{key}={_conninfo_value(val)}" for key, val in parts.items())


@dataclass(frozen=True)
class MariaDBServer:
    """Connection parameters of a running MariaDB server (TCP on loopback)."""

    host: str
    port: int
    user: str
    password: str
    database: str


# --------------------------------------------------------------------------- helpers


def _in_ci() -> bool:
    return bool(os.environ.get("CI", "").strip())


def _missing_binary(what: str, how_to_install: str) -> NoReturn:
    """Skip (locally) or fail (in CI) because a server binary is not installed."""
    message = f"{what} not found; install it with: {how_to_install}"
    if _in_ci():
        pytest.fail(f"{message} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    """Return a currently unused TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<no log at {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def _output(proc: subprocess.CompletedProcess[str], lines: int = 40) -> str:
    """Exit status plus the last ``lines`` lines of stdout and stderr of a finished command."""
    stdout = "\n".join(proc.stdout.splitlines()[-lines:])
    stderr = "\n".join(proc.stderr.splitlines()[-lines:])
    return f"exit status {proc.returncode}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"


def _service_user(name: str) -> pwd.struct_passwd | None:
    """The OS account to run a server as: ``name`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pytest.fail(
            f"running as root, but the OS user {name!r} to run the server as does not exist "
            "(it is created by the Debian server package)",
            pytrace=False,
        )


def _make_tempdir(prefix: str, owner: pwd.struct_passwd | None) -> Path:
    """Create a private temp dir, short enough for Unix socket paths, owned by ``owner``."""
    base = tempfile.gettempdir()
    if len(base) > 40 or owner is not None:
        # Unix socket paths are limited to ~107 bytes, and a root-only TMPDIR (e.g. under
        # /root) would not be reachable by the service user.
        base = "/tmp"
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


def _await_start(
    server: Any, name: str, port: int, ready: Callable[[int, float], bool]
) -> str | None:
    """Wait for ``server.process`` to be ``ready`` on ``port``: None once it is, else what went
    wrong (it exited, or did not answer within ``START_TIMEOUT``; then it is killed)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        status = server.process.poll()
        if status is not None:
            server.process = None
            return f"{name} exited with status {status} during start-up (port {port})"
        if ready(port, deadline):
            return None
        time.sleep(0.05)
    server._kill()
    return f"{name} did not accept connections on port {port} within {START_TIMEOUT}s"


def _wait_for_tcp(port: int, deadline: float) -> bool:
    """Try once to connect and read the first byte (a server greeting); True on success."""
    with (
        contextlib.suppress(OSError),
        socket.create_connection((LOOPBACK, port), timeout=1.0) as sock,
    ):
        sock.settimeout(max(0.1, min(2.0, deadline - time.monotonic())))
        return bool(sock.recv(1))
    return False


def _children(pid: int) -> list[int]:
    """The pids of ``pid``'s child processes (from ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _run(
    cmd: Sequence[str], *, as_user: pwd.struct_passwd | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` (as ``as_user`` via ``runuser`` when given) and capture its output."""
    full = list(cmd)
    if as_user is not None:
        full = ["runuser", "-u", as_user.pw_name, "--", *full]
    return subprocess.run(
        full, cwd=cwd, capture_output=True, text=True, timeout=START_TIMEOUT * 2, check=False
    )


# --------------------------------------------------------------------------- PostgreSQL


def _parse_pg_dsn(dsn: str) -> PostgresServer:
    """Turn ``SQLSPEC_PG_DSN`` (``postgresql://user[:pw]@host[:port]/dbname``) into a server."""
    url = urlsplit(dsn)
    if url.scheme not in ("postgresql", "postgres") or not url.hostname:
        pytest.fail(
            f"SQLSPEC_PG_DSN must look like postgresql://user[:password]@host[:port]/dbname, "
            f"got {dsn!r}",
            pytrace=False,
        )
    return PostgresServer(
        host=url.hostname,
        port=url.port or 5432,
        user=unquote(url.username or "postgres"),
        dbname=unquote(url.path.lstrip("/")) or TEST_DATABASE,
        password=unquote(url.password or ""),
    )


class _PostgresCluster:
    """A throwaway PostgreSQL cluster managed with ``initdb``/``pg_ctl``.

    ``durable=True`` keeps ``synchronous_commit`` on, so that every acknowledged commit survives
    a SIGKILL of the server (:meth:`kill`); the fault tests stop, start and kill their own
    clusters with :meth:`halt`, :meth:`resume` and :meth:`kill`.
    """

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.owner = _service_user("postgres")
        self.root: Path | None = None
        self.running = False
        self.durable = durable
        self.port = 0

    def _start_command(self, port: int) -> list[str]:
        assert self.root is not None
        commit = "on" if self.durable else "off"
        options = (
            f"-p {port} -k {self.root} -c listen_addresses={LOOPBACK} "
            f"-c fsync=off -c synchronous_commit={commit} -c full_page_writes=off "
            "-c max_connections=200"
        )
        cmd = [str(self.bindir / "pg_ctl"), "start", "-w", "-t", str(int(START_TIMEOUT))]
        return [*cmd, "-D", str(self.datadir), "-l", str(self.logfile), "-o", options]

    def halt(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl stop -m mode``), keeping its data for :meth:`resume`."""
        assert self.root is not None
        stop = _run(
            [str(self.bindir / "pg_ctl"), "stop", "-w", "-D", str(self.datadir), "-m", mode],
            as_user=self.owner,
            cwd=self.root,
        )
        if stop.returncode != 0:
            self._fail("pg_ctl stop failed", _output(stop))
        self.running = False

    def resume(self) -> None:
        """Start the stopped (or killed) server again on the same port."""
        assert self.root is not None
        started = _run(self._start_command(self.port), as_user=self.owner, cwd=self.root)
        if started.returncode != 0:
            self._fail("pg_ctl start (restart) failed", _output(started))
        self.running = True

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend: a crash, with no shutdown at all."""
        pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
        victims = [pid, *_children(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(v) for v in victims):
            time.sleep(0.02)
        # A killed postmaster may linger as a zombie nobody reaps, and PostgreSQL would take
        # its pid in the lock files for a running server.
        assert self.root is not None
        for lock in (self.datadir / "postmaster.pid", self.root / f".s.PGSQL.{self.port}.lock"):
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
        self.running = False

    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def _fail(self, what: str, detail: str = "") -> NoReturn:
        tail = _log_tail(self.logfile) if self.root is not None else ""
        pytest.fail(
            f"throwaway PostgreSQL: {what}\n{detail}\n--- server log tail ---\n{tail}",
            pytrace=False,
        )

    def start(self) -> PostgresServer:
        self.root = _make_tempdir("sqlspec-pg-", self.owner)
        init = _run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-A",
                "trust",
                "-U",
                PG_USER,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            as_user=self.owner,
            cwd=self.root,
        )
        if init.returncode != 0:
            self._fail("initdb failed", _output(init))

        for attempt in range(3):  # the free port may be taken before the server binds it
            port = _free_port()
            started = _run(self._start_command(port), as_user=self.owner, cwd=self.root)
            if started.returncode == 0:
                self.running = True
                self.port = port
                break
            port_taken = "already in use" in _log_tail(self.logfile)
            if not port_taken or attempt == 2:
                self._fail("pg_ctl start failed", _output(started))

        created = _run(
            [
                str(self.bindir / "createdb"),
                "-h",
                LOOPBACK,
                "-p",
                str(port),
                "-U",
                PG_USER,
                TEST_DATABASE,
            ],
            cwd=self.root,
        )
        if created.returncode != 0:
            self._fail(f"createdb {TEST_DATABASE} failed", _output(created))
        return PostgresServer(host=LOOPBACK, port=port, user=PG_USER, dbname=TEST_DATABASE)

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete its directory; idempotent."""
        if self.root is None:
            return
        if self.running:
            self.running = False
            stop = _run(
                [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "immediate"],
                as_user=self.owner,
                cwd=self.root,
            )
            if stop.returncode != 0:  # last resort: kill the postmaster by its pid file
                with contextlib.suppress(OSError, ValueError, IndexError):
                    pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


def _postgres_bindir() -> Path:
    bindir = Path(os.environ.get("SQLSPEC_PG_BIN", "").strip() or DEFAULT_PG_BIN)
    for tool in ("initdb", "pg_ctl", "createdb"):
        if not os.access(bindir / tool, os.X_OK):
            _missing_binary(
                f"PostgreSQL binary {bindir / tool}",
                "apt-get install postgresql-15 (or set SQLSPEC_PG_BIN to the directory "
                "holding initdb/pg_ctl, or SQLSPEC_PG_DSN to an existing server)",
            )
    return bindir


@contextlib.contextmanager
def private_postgres(*, durable: bool = True) -> Iterator[tuple[PostgresServer, _PostgresCluster]]:
    """A PostgreSQL cluster of the caller's own (never ``SQLSPEC_PG_DSN``'s), for tests that
    stop, restart or kill it: the server and its controls (``halt``/``resume``/``kill``)."""
    cluster = _PostgresCluster(_postgres_bindir(), durable=durable)
    atexit.register(cluster.stop)
    try:
        yield cluster.start(), cluster
    finally:
        cluster.stop()
        atexit.unregister(cluster.stop)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 server for the whole session (throwaway, or ``SQLSPEC_PG_DSN``)."""
    dsn = os.environ.get("SQLSPEC_PG_DSN", "").strip()
    if dsn:
        yield _parse_pg_dsn(dsn)
        return

    cluster = _PostgresCluster(_postgres_bindir())
    atexit.register(cluster.stop)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        atexit.unregister(cluster.stop)


# --------------------------------------------------------------------------- PgBouncer

#: Database aliases of the throwaway PgBouncer, one per pool mode, all for ``TEST_DATABASE``.
PGBOUNCER_ALIASES = {
    "transaction": TEST_DATABASE,
    "statement": f"{TEST_DATABASE}_statement",
    "session": f"{TEST_DATABASE}_session",
}
PGBOUNCER_POOL_SIZE = 3
_PGBOUNCER_SEARCH_PATH = ("/usr/sbin", "/usr/bin")


@dataclass(frozen=True)
class PgBouncerServer:
    """A running PgBouncer in front of :attr:`backend`, with one database alias per pool mode.

    Every alias shares at most :attr:`pool_size` server connections among all its clients.
    """

    host: str
    port: int
    user: str
    backend: PostgresServer
    pool_size: int = PGBOUNCER_POOL_SIZE

    def connection(self, pool_mode: str = "transaction") -> PostgresServer:
        """Connection parameters (``.conninfo``, ``.dsn``) of the alias pooled in ``pool_mode``."""
        return PostgresServer(self.host, self.port, self.user, PGBOUNCER_ALIASES[pool_mode])

    @property
    def admin(self) -> PostgresServer:
        """PgBouncer's admin console (simple query protocol only: ``SHOW POOLS``, ...)."""
        return PostgresServer(self.host, self.port, self.user, "pgbouncer")


def _pgbouncer_ready(port: int, deadline: float) -> bool:
    """True once PgBouncer answers a PostgreSQL SSLRequest (it sends ``N``: no TLS here)."""
    with (
        contextlib.suppress(OSError),
        socket.create_connection((LOOPBACK, port), timeout=1.0) as sock,
    ):
        sock.settimeout(max(0.1, min(2.0, deadline - time.monotonic())))
        sock.sendall((8).to_bytes(4, "big") + (80877103).to_bytes(4, "big"))
        return sock.recv(1) == b"N"
    return False


class _PgBouncerInstance:
    """A throwaway PgBouncer process (foreground, its own ini file in a temp directory)."""

    def __init__(self, binary: str, backend: PostgresServer) -> None:
        self.binary = binary
        self.backend = backend
        self.owner = _service_user("postgres")
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def logfile(self) -> Path:
        assert self.root is not None
        return self.root / "pgbouncer.log"

    def _fail(self, what: str) -> NoReturn:
        tail = _log_tail(self.logfile) if self.root is not None else ""
        pytest.fail(f"throwaway PgBouncer: {what}\n--- log tail ---\n{tail}", pytrace=False)

    def _write_config(self, port: int) -> Path:
        assert self.root is not None
        backend = self.backend
        target = f"host={backend.host} port={backend.port} dbname={backend.dbname}"
        target += f" user={backend.user}"
        if backend.password:
            target += f" password={_conninfo_value(backend.password)}"
        databases = [
            f"{alias} = {target} pool_mode={mode}" for mode, alias in PGBOUNCER_ALIASES.items()
        ]
        settings = {
            "listen_addr": LOOPBACK,
            "listen_port": str(port),
            "unix_socket_dir": "",
            "auth_type": "trust",
            "auth_file": str(self.root / "userlist.txt"),
            "admin_users": PG_USER,
            "pool_mode": "transaction",
            "default_pool_size": str(PGBOUNCER_POOL_SIZE),
            "min_pool_size": "0",
            "reserve_pool_size": "0",
            "max_client_conn": "500",
            "ignore_startup_parameters": "extra_float_digits",
            "server_reset_query": "DISCARD ALL",
            "logfile": str(self.logfile),
            "pidfile": str(self.root / "pgbouncer.pid"),
        }
        ini = self.root / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            + "\n".join(databases)
            + "\n\n[pgbouncer]\n"
            + "".join(f"{key} = {value}\n" for key, value in settings.items())
        )
        (self.root / "userlist.txt").write_text(f'"{PG_USER}" ""\n')
        for path in (ini, self.root / "userlist.txt"):
            path.chmod(0o644)
        return ini

    def start(self) -> PgBouncerServer:
        self.root = _make_tempdir("sqlspec-pgb-", self.owner)
        for attempt in range(3):  # the free port may be taken before PgBouncer binds it
            port = _free_port()
            problem = self._launch(port)
            if problem is None:
                return PgBouncerServer(LOOPBACK, port, PG_USER, self.backend)
            in_use = "in use" in _log_tail(self.logfile)
            if not in_use or attempt == 2:
                self._fail(problem)
        raise AssertionError("unreachable")

    def _launch(self, port: int) -> str | None:
        assert self.root is not None
        ini = self._write_config(port)
        owner = self.owner  # PgBouncer refuses to run as root
        with (self.root / "pgbouncer.out").open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary, str(ini)],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                user=owner.pw_uid if owner else None,
                group=owner.pw_gid if owner else None,
                extra_groups=[] if owner else None,
            )
        return _await_start(self, "pgbouncer", port, _pgbouncer_ready)

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # SIGTERM: PgBouncer's immediate shutdown
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)

    def stop(self) -> None:
        """Stop PgBouncer and delete its directory; idempotent."""
        self._kill()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


@pytest.fixture(scope="session")
def pgbouncer_server(postgres_server: PostgresServer) -> Iterator[PgBouncerServer]:
    """A throwaway PgBouncer in front of ``postgres_server`` for the whole session."""
    override = os.environ.get("SQLSPEC_PGBOUNCER", "").strip()
    search = os.pathsep.join([os.environ.get("PATH", ""), *_PGBOUNCER_SEARCH_PATH])
    binary = override if override else shutil.which("pgbouncer", path=search)
    if not binary or not os.access(binary, os.X_OK):
        _missing_binary(
            f"PgBouncer binary {binary or 'pgbouncer'}",
            "apt-get install pgbouncer (or set SQLSPEC_PGBOUNCER to its path)",
        )
    instance = _PgBouncerInstance(binary, postgres_server)
    atexit.register(instance.stop)
    try:
        yield instance.start()
    finally:
        instance.stop()
        atexit.unregister(instance.stop)


# --------------------------------------------------------------------------- MariaDB


def _find_mariadb_binary(*names: str) -> str | None:
    """Locate the first of ``names`` in ``SQLSPEC_MARIADB_BIN``, or ``PATH`` + sbin dirs."""
    override = os.environ.get("SQLSPEC_MARIADB_BIN", "").strip()
    search = override or os.pathsep.join([os.environ.get("PATH", ""), *_MARIADB_SEARCH_PATH])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


class _MariaDBInstance:
    """A throwaway MariaDB server managed with ``mariadb-install-db``/``mariadbd``."""

    def __init__(self, mariadbd: str, install_db: str) -> None:
        self.mariadbd = mariadbd
        self.install_db = install_db
        self.owner = _service_user("mysql")
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def tmpdir(self) -> Path:
        assert self.root is not None
        return self.root / "tmp"

    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        assert self.root is not None
        return self.root / "mariadb.log"

    def _fail(self, what: str, detail: str = "") -> NoReturn:
        tail = _log_tail(self.logfile) if self.root is not None else ""
        pytest.fail(
            f"throwaway MariaDB: {what}\n{detail}\n--- server log tail ---\n{tail}",
            pytrace=False,
        )

    def _user_args(self) -> list[str]:
        return [f"--user={self.owner.pw_name}"] if self.owner is not None else []

    def start(self) -> MariaDBServer:
        self.root = _make_tempdir("sqlspec-maria-", self.owner)
        # Run by mariadbd (--init-file) at start-up, before it accepts connections, so no
        # client binary and no root login are needed. (install-db's --extra-file cannot be
        # used: bootstrap runs with --skip-grant-tables, which rejects CREATE USER.)
        # Idempotent, because a start retried on another port runs it again.
        setup_sql = self.root / "setup.sql"
        statements = [f"CREATE DATABASE IF NOT EXISTS `{TEST_DATABASE}` CHARACTER SET utf8mb4;"]
        for host in (LOOPBACK, "localhost", "%"):
            account = f"'{MARIADB_USER}'@'{host}'"
            statements.append(
                f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY '{MARIADB_PASSWORD}';"
            )
            statements.append(f"GRANT ALL PRIVILEGES ON `{TEST_DATABASE}`.* TO {account};")
        setup_sql.write_text("\n".join(statements) + "\n")
        setup_sql.chmod(0o644)
        # A private tmpdir: bootstraps running at once must not share (and delete) each
        # other's temporary tables in /tmp.
        self.tmpdir.mkdir()
        if self.owner is not None:
            os.chown(self.tmpdir, self.owner.pw_uid, self.owner.pw_gid)

        init = _run(
            [
                self.install_db,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--tmpdir={self.tmpdir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                *self._user_args(),
            ],
            cwd=self.root,
        )
        if init.returncode != 0:
            self._fail("mariadb-install-db failed", _output(init))

        for attempt in range(3):  # the free port may be taken before the server binds it
            port = _free_port()
            problem = self._launch(port)
            if problem is None:
                self.port = port
                return MariaDBServer(
                    host=LOOPBACK,
                    port=port,
                    user=MARIADB_USER,
                    password=MARIADB_PASSWORD,
                    database=TEST_DATABASE,
                )
            port_taken = "already in use" in _log_tail(self.logfile)
            if not port_taken or attempt == 2:
                output = _log_tail(self.root / "mariadbd.out")
                self._fail(problem, f"--- mariadbd stdout/stderr ---\n{output}")
        raise AssertionError("unreachable")

    def _launch(self, port: int) -> str | None:
        """Start mariadbd on ``port``; None once it greets TCP clients, else what went wrong."""
        assert self.root is not None
        cmd = [
            self.mariadbd,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--tmpdir={self.tmpdir}",
            f"--socket={self.root / 'mariadb.sock'}",
            f"--pid-file={self.root / 'mariadb.pid'}",
            f"--log-error={self.logfile}",
            f"--init-file={self.root / 'setup.sql'}",
            f"--port={port}",
            f"--bind-address={LOOPBACK}",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--max-connections=200",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
            "--innodb-buffer-pool-size=64M",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            *self._user_args(),
        ]
        with (self.root / "mariadbd.out").open("ab") as out:
            self.process = subprocess.Popen(
                cmd, cwd=self.root, stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        return _await_start(self, "mariadbd", port, _wait_for_tcp)

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # SIGTERM: fast, orderly shutdown
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)

    def halt(self) -> None:
        """Stop the server (SIGTERM, an orderly shutdown), keeping its data for :meth:`resume`."""
        self._kill()

    def resume(self) -> None:
        """Start the stopped (or killed) server again on the same port."""
        problem = self._launch(self.port)
        if problem is not None:
            self._fail(problem)

    def kill(self) -> None:
        """SIGKILL the server: a crash, with no shutdown at all."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=15)

    def stop(self) -> None:
        """Stop the server and delete its directory; idempotent."""
        self._kill()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def _new_mariadb() -> _MariaDBInstance:
    mariadbd = _find_mariadb_binary("mariadbd", "mysqld")
    install_db = _find_mariadb_binary("mariadb-install-db", "mysql_install_db")
    if mariadbd is None or install_db is None:
        missing = "mariadbd" if mariadbd is None else "mariadb-install-db"
        _missing_binary(
            f"MariaDB binary {missing}",
            "apt-get install mariadb-server (or set SQLSPEC_MARIADB_BIN to its directory)",
        )
    return _MariaDBInstance(mariadbd, install_db)


@contextlib.contextmanager
def private_mariadb() -> Iterator[tuple[MariaDBServer, _MariaDBInstance]]:
    """A MariaDB server of the caller's own, for tests that stop, restart or kill it: the
    server and its controls (``halt``/``resume``/``kill``)."""
    instance = _new_mariadb()
    atexit.register(instance.stop)
    try:
        yield instance.start(), instance
    finally:
        instance.stop()
        atexit.unregister(instance.stop)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """A throwaway MariaDB server for the whole session."""
    instance = _new_mariadb()
    atexit.register(instance.stop)
    try:
        yield instance.start()
    finally:
        instance.stop()
        atexit.unregister(instance.stop)
