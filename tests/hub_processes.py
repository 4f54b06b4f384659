"""`hub` processes for tests, started by forking a process that has already imported the hub.

A `hub` process spends most of a short life importing the hub (1-1.6 CPU s: the agencies'
packages, SQLAlchemy, pydantic, strawberry, uvicorn), and the suite starts dozens. Here a
test process keeps one *zygote*: a child that imported the command line and what `hub
serve`, `hub connector serve`, `hub import` and `hub webhooks dispatch` import, and then
waits. `popen([HUB, ...])` asks it for a process: it forks, and the child takes the
caller's argv, environment, working directory and standard streams (passed as file
descriptors), then runs the real console script (`.venv/bin/hub`) or `python -m hub.cli`
as `__main__`: a real process running the real code, its exit code and signals its own,
with only its import shared. The returned `HubProcess` is what the tests used of
`subprocess.Popen`: `pid` is the forked process itself (so `os.kill(pid, SIGKILL)` kills
the hub, not a go-between), `wait`, `poll`, `send_signal`, `terminate`, `kill`,
`returncode` (negative for a signal, as Popen's), and `stdout`/`stderr` pipes.

What a fork cannot give a process is what its imports read from the environment, so a
command is forked only when its environment differs from the zygote's (the test process's
as collected) in nothing but `HUB_` settings (read when a command runs),
`PYTHONFAULTHANDLER` (applied in the child as Python's start-up would), PATH,
`AUTHLIB_INSECURE_TRANSPORT`, what a shell sets (PWD, SHLVL, ...) and
`PYTEST_CURRENT_TEST` (`FORKED_ENVIRONMENT`); any other difference (`HUB_AGENCY_PATH`, read when `connectors` is
imported, `OTEL_...`, `PROMETHEUS_MULTIPROC_DIR`) and any other command line start a fresh
interpreter with `subprocess.Popen`, as before. Forked processes share the zygote's string
hash seed: a set of strings iterates in the same order in each.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import gc
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any, ClassVar

HUB = str(Path(sys.executable).parent / "hub")
"""The console script: `[HUB, *arguments]` as a `hub` command line."""
MODULE = [sys.executable, "-m", "hub.cli"]
"""`python -m hub.cli`: `[*MODULE, *arguments]` as a `hub` command line."""

PREIMPORTED = (
    "hub.cli",
    "hub.app",
    "hub.subgraph_app",
    "hub.serving",
    "hub.wiring",
    "hub.settings",
    "hub.telemetry",
    "hub.checks",
    "hub.provision",
    "hub.importing",
    "hub.demo",
    "uvicorn",
)
"""What a served hub, an agency's process, an import and a dispatcher import anyway (the
libraries imported on first use, `kernel.deferred`, stay so)."""

FORKED_ENVIRONMENT = (
    "PYTHONFAULTHANDLER",
    *("PYTEST_CURRENT_TEST", "PATH", "AUTHLIB_INSECURE_TRANSPORT"),
    *("PWD", "OLDPWD", "SHLVL", "_"),
)
"""Variables besides `HUB_` ones that may differ from the zygote's: the first applied by
the child; pytest's (a test's name), PATH, authlib's (read at each check of a URL's
scheme, `authlib.common.security`) and those a shell sets for the commands it runs read
by nothing the hub imports (PATH is where the commands a hub runs are found, which its
environment decides)."""


def _forkable(argv: list[str], env: dict[str, str], zygote_env: dict[str, str]) -> bool:
    if argv[:1] != [HUB] and argv[:3] != MODULE:
        return False
    for name in set(env) | set(zygote_env):
        if env.get(name) == zygote_env.get(name):
            continue
        if name in FORKED_ENVIRONMENT:
            continue
        if name.startswith("HUB_") and name != "HUB_AGENCY_PATH":
            continue
        return False
    return True


class HubProcess:
    """A forked `hub` process, as the tests use a `subprocess.Popen`."""

    def __init__(
        self,
        args: list[str],
        connection: socket.socket,
        pid: int,
        stdout: IO[bytes] | None,
        stderr: IO[bytes] | None,
    ) -> None:
        self.args = args
        self.pid = pid
        self.returncode: int | None = None
        self.stdout = stdout
        self.stderr = stderr
        self._connection = connection
        self._lock = threading.Lock()

    def poll(self) -> int | None:
        return self._wait(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._wait(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def _wait(self, timeout: float | None) -> int | None:
        # as Popen: a poll while another thread waits answers None at once
        if not self._lock.acquire(blocking=timeout != 0):
            return self.returncode
        try:
            if self.returncode is None:
                self._connection.settimeout(timeout)
                try:
                    line = _read_line(self._connection)
                except (TimeoutError, BlockingIOError):
                    return None
                self.returncode = int(line)
                self._connection.close()
            return self.returncode
        finally:
            self._lock.release()

    def communicate(self, timeout: float | None = None) -> tuple[bytes | None, bytes | None]:
        """Each pipe read to its end, then the exit waited for."""
        read: dict[str, bytes] = {}
        readers = [
            threading.Thread(target=lambda n=name, s=stream: read.update({n: s.read()}))
            for name, stream in (("stdout", self.stdout), ("stderr", self.stderr))
            if stream is not None and not stream.closed
        ]
        deadline = None if timeout is None else time.monotonic() + timeout
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        return read.get("stdout"), read.get("stderr")

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:  # as Popen: never a signal to a reaped (reusable) pid
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(15)

    def kill(self) -> None:
        self.send_signal(9)

    def __enter__(self) -> HubProcess:
        return self

    def __exit__(self, *_: object) -> None:
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        self.wait()


Process = HubProcess | subprocess.Popen[bytes]
"""A `hub` process as `popen` starts it."""


def popen(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdin: Any = None,
    stdout: Any = None,
    stderr: Any = None,
) -> Process:
    """`subprocess.Popen(argv, env=..., cwd=..., stdin=..., stdout=..., stderr=...)` for a
    `hub` command line (`[HUB, ...]` or `[*MODULE, ...]`), forked from the zygote where
    the module docstring says it can be; each stream None (this process's), DEVNULL,
    PIPE, a file object or a descriptor."""
    env = dict(os.environ if env is None else env)
    zygote = _Zygote.get()
    if zygote is None or not _forkable(argv, env, _Zygote.environment):
        return subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr)
    opened: list[int] = []
    ours: dict[str, IO[bytes]] = {}

    def descriptor(name: str, given: Any, default: int) -> int:
        if given is None:
            return default
        if given == subprocess.DEVNULL:
            fd = os.open(os.devnull, os.O_RDWR)
            opened.append(fd)
            return fd
        if given == subprocess.PIPE:
            read, write = os.pipe()
            if name == "stdin":
                ours[name] = os.fdopen(write, "wb")
                opened.append(read)
                return read
            ours[name] = os.fdopen(read, "rb")
            opened.append(write)
            return write
        return given if isinstance(given, int) else int(given.fileno())

    try:
        fds = [
            descriptor("stdin", stdin, 0),
            descriptor("stdout", stdout, 1),
            descriptor("stderr", stderr, 2),
        ]
        request = {
            "argv": argv,
            "env": env,
            "cwd": os.fspath(cwd) if cwd is not None else os.getcwd(),
        }
        connection = zygote.start(json.dumps(request).encode(), fds)
    finally:
        for fd in opened:
            os.close(fd)
    answer = _read_line(connection)
    if answer == b"no\n":  # not expected: popen asked only for what the zygote forks
        connection.close()
        for stream in ours.values():
            stream.close()
        return subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr)
    return HubProcess(argv, connection, int(answer), ours.get("stdout"), ours.get("stderr"))


SHIM_SOCKET = "TEST_HUB_ZYGOTE"
"""The environment variable that tells `shim_directory()`'s `hub` where the zygote listens."""


def shim_directory() -> str | None:
    """A directory holding a `hub` for PATH, for commands the tests run through a shell
    (the documentation's examples): a small Python (no site packages) that asks this
    process's zygote for the `hub` process and stands in for it until it ends, passing it
    the signals it is sent and ending with its exit code (by the same signal if it was
    killed); where the zygote would not fork the command, it becomes the real `hub`
    (exec). A go-between: SIGKILL, which it cannot pass on, would leave the `hub` running,
    so it is for commands that run to their end, not for processes a test kills. Set `SHIM_SOCKET` in the environment, as `shim_environment` does. None
    without a zygote."""
    zygote = _Zygote.get()
    if zygote is None:
        return None
    shim = os.path.join(zygote.directory, "bin", "hub")
    if not os.path.exists(shim):
        os.makedirs(os.path.dirname(shim), exist_ok=True)
        with open(shim, "w", encoding="utf-8") as script:
            script.write(
                f"#!{sys.executable} -S\n"
                "import sys\n"
                f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
                "import hub_processes\n"
                "hub_processes.relay(sys.argv[1:])\n"
            )
        os.chmod(shim, 0o755)
    return os.path.dirname(shim)


def shim_environment(env: dict[str, str]) -> dict[str, str]:
    """`env` with `shim_directory()` first on PATH (unchanged without a zygote)."""
    directory = shim_directory()
    if directory is None or _Zygote._made is None:
        return env
    path = env.get("PATH", os.defpath)
    return {**env, "PATH": f"{directory}{os.pathsep}{path}", SHIM_SOCKET: _Zygote._made.path}


def relay(arguments: list[str]) -> None:
    """The shim's `hub <arguments>`: forked by the zygote where it can be, else exec'd."""
    import signal

    env = dict(os.environ)
    path = env.pop(SHIM_SOCKET)
    shim = os.path.dirname(os.path.abspath(sys.argv[0]))
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != shim)
    argv = [HUB, *arguments]
    request = {"argv": argv, "env": env, "cwd": os.getcwd()}
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    body = json.dumps(request).encode()
    socket.send_fds(connection, [len(body).to_bytes(4, "big") + body], [0, 1, 2])
    answer = _read_line(connection)
    if answer == b"no\n":
        os.execve(HUB, argv, env)
    pid = int(answer)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, lambda number, _: os.kill(pid, number))
    while True:
        try:
            code = int(_read_line(connection))
            break
        except InterruptedError:
            continue
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


def run(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(argv, env=..., cwd=..., capture_output=True, text=True, check=...)`
    through `popen`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(argv, code, out.read().decode(), err.read().decode())
    if check:
        done.check_returncode()
    return done


def _read_line(connection: socket.socket) -> bytes:
    """One line the zygote sent (a pid, then an exit code), read a byte at a time so that
    nothing of the next line is taken; each is a few bytes sent in one write."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(1)
        if not chunk:
            raise RuntimeError("the hub zygote closed the connection")
        data += chunk
    return data


class _Zygote:
    """This test process's zygote, started on first use and ended with the process."""

    environment: ClassVar[dict[str, str]] = dict(os.environ)
    """This test process's environment when the tests were collected (none has changed
    it yet): the zygote's."""
    _made: ClassVar[_Zygote | None] = None
    _failed: ClassVar[bool] = False
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def get(cls) -> _Zygote | None:
        with cls._lock:
            if cls._made is None and not cls._failed:
                try:
                    cls._made = cls()
                except (OSError, RuntimeError, ValueError):
                    cls._failed = True
            return cls._made

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="hub-zygote-")
        self.path = os.path.join(self.directory, "socket")
        self.process = subprocess.Popen(
            [sys.executable, __file__, self.path],
            env=self.environment,
            stdin=subprocess.PIPE,  # its end: this process has ended
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=os.path.dirname(__file__),
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()
        if ready != b"ready\n":
            self.process.kill()
            raise RuntimeError(f"the hub zygote did not start: {ready!r}")
        atexit.register(self.end)

    def start(self, request: bytes, fds: list[int]) -> socket.socket:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(self.path)
        socket.send_fds(connection, [len(request).to_bytes(4, "big") + request], fds)
        return connection

    def end(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


# The zygote's side (run as a script: `python hub_processes.py <socket path>`).


def _receive(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
    size = int.from_bytes(message[:4], "big")
    while len(message) < 4 + size:
        more = connection.recv(1 << 20)
        if not more:
            raise RuntimeError("request cut short")
        message += more
    return json.loads(message[4 : 4 + size]), fds


def _serve(path: str) -> tuple[dict[str, Any], list[int]]:
    """Fork a child per request until this process's stdin ends (its test process has:
    the children it left running are killed); in a child, return its request and
    descriptors (the parent never returns)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "listener")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    children: dict[int, tuple[int, socket.socket]] = {}  # pidfd: (pid, connection)
    zygote_env = dict(os.environ)
    gc.freeze()  # the imported objects stay in pages the children share
    os.write(1, b"ready\n")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1)
    os.close(null)
    while True:
        for key, _ in selector.select():
            if key.data == "stdin":
                if not os.read(sys.stdin.fileno(), 4096):  # the test process has ended:
                    for pid, _ in children.values():  # what it left running goes too
                        os.kill(pid, 9)
                    sys.exit(0)
            elif key.data == "listener":
                connection, _ = listener.accept()
                request, fds = _receive(connection)
                if not _forkable(request["argv"], request["env"], zygote_env):
                    for fd in fds:
                        os.close(fd)
                    connection.sendall(b"no\n")
                    connection.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    for pidfd, (_, other) in children.items():
                        os.close(pidfd)
                        other.close()
                    connection.close()
                    return request, fds
                for fd in fds:
                    os.close(fd)
                connection.sendall(f"{pid}\n".encode())
                pidfd = os.pidfd_open(pid)
                children[pidfd] = (pid, connection)
                selector.register(pidfd, selectors.EVENT_READ, "child")
            else:
                pidfd = key.fd
                pid, connection = children.pop(pidfd)
                selector.unregister(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(pid, 0)
                with contextlib.suppress(OSError):  # its test process may have gone
                    connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
                connection.close()


def _become(request: dict[str, Any], fds: list[int]) -> None:
    """The forked child: the requested streams, environment, directory and command line."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)  # sys.stdin/stdout/stderr write to 0, 1, 2: now the caller's
    for fd in set(fds):
        if fd > 2:
            os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    if os.environ.get("PYTHONFAULTHANDLER"):
        faulthandler.enable(all_threads=True)
    else:
        faulthandler.disable()
    os.chdir(request["cwd"])


def _main() -> None:
    sys.path[0] = os.path.dirname(HUB)  # not tests/: its `hub` folder is no package
    for name in PREIMPORTED:
        __import__(name)
    if threading.active_count() != 1:
        raise RuntimeError("importing the hub started a thread: a fork would lose it")
    request, fds = _serve(sys.argv[1])
    _become(request, fds)
    argv = request["argv"]
    import runpy

    if argv[0] == HUB:
        sys.argv = list(argv)
        sys.path[0] = os.path.dirname(HUB)
        runpy.run_path(HUB, run_name="__main__")
    else:
        sys.argv = [str(Path(__file__).parent.parent / "hub" / "cli.py"), *argv[3:]]
        sys.path[0] = os.getcwd()
        del sys.modules["hub.cli"]  # as `python -m` runs it: only as __main__
        runpy.run_module("hub.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    _main()
