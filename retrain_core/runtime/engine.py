"""The warm engine: Prefect's flow-run engine, started from a warm process instead of a cold one.

A process worker starts every flow run as a new `python -m prefect.engine`, which imports Prefect,
MLflow, scikit-learn, pandas and the rest again: 4-6 CPU-seconds per run before the run does
anything, most of the cost of a monitor check. A worker of type `retrain-process`
(`runtime/worker.py`) starts it as `<the worker's python> -m retrain_core.runtime.engine`
instead (`retrain-engine` is the same as a command), which behaves as `python -m prefect.engine`
(same arguments, same environment, same working directory, same output, same exit code) but runs
the engine in a process forked from a **warm engine**: a per-user server that imported those
libraries once.

- The first `retrain-engine` on a machine starts the warm engine (in its own session, logging to
  `engine-*.log` next to its socket) and waits for it; later runs connect to it. It stops after
  `RETRAIN_ENGINE_IDLE_SECONDS` (default 600) without runs, and a new one is started when the
  Python environment or retrain's code changes (its socket name includes the interpreter,
  site-packages and a stamp of retrain_core's files).
- Each run is a fresh fork: the run's own environment, working directory and standard streams (the
  worker's pipes, passed over the socket), Prefect's settings rebuilt from that environment, and
  the project's flows (flows/) imported in the fork. retrain_core itself is imported by the warm
  engine (building its policy models costs ~0.4 CPU-s a run): the socket's name includes a stamp
  of retrain_core's source files, so a changed retrain_core gets a new engine.
- A signal sent to `retrain-engine` (a cancellation) is passed to the run; when `retrain-engine`
  dies, the warm engine kills its run.
- When the warm engine cannot be reached, the client runs `python -m prefect.engine` itself.

Only the standard library is imported on the client side, so `retrain-engine` starts in ~50 ms.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

from retrain_core.runtime.preload import fast_exit, imports_without_gc, preload

START_SECONDS = 180.0  # how long a client waits for a warm engine it started
HEADER = struct.Struct("!I")


def socket_dir() -> Path:
    """The private folder of this user's warm engines (RETRAIN_ENGINE_DIR overrides it)."""
    chosen = os.environ.get("RETRAIN_ENGINE_DIR")
    folder = Path(chosen) if chosen else Path(tempfile.gettempdir()) / f"retrain-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def socket_path() -> Path:
    """This Python environment's warm-engine socket: a changed environment gets a new engine."""
    site = Path(sysconfig.get_paths()["purelib"])
    try:
        stamp = str(site.stat().st_mtime_ns)
    except OSError:
        stamp = ""
    key = f"{sys.executable}\0{site}\0{stamp}\0{code_stamp()}"
    return socket_dir() / f"engine-{hashlib.sha256(key.encode()).hexdigest()[:12]}.sock"


PACKAGE = Path(__file__).resolve().parents[1]  # retrain_core, as the warm engine imports it


def code_stamp(package: Path = PACKAGE) -> str:
    """The name, size and modification time of every source file of `package` (retrain_core),
    hashed: what the warm engine imported, so that a changed file means a new engine (~2 ms)."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                info = os.stat(path)
                digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


# ---- client: what the worker runs ------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """`python -m prefect.engine [FLOW_RUN_ID]`, in a warm fork if possible; `--stop` stops them."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--serve"]:
        serve(Path(args[1]))
        return
    if args[:1] == ["--stop"]:
        stopped = stop_all(socket_dir())
        print(f"retrain-engine: stopped {stopped} warm engine(s) in {socket_dir()}")
        return
    try:
        conn = _connect(socket_path())
    except OSError as exc:
        print(f"retrain-engine: no warm engine ({exc}); starting a cold one", file=sys.stderr)
        _cold(args)
    sys.exit(_run_remote(conn, args))


def _cold(args: list[str]) -> NoReturn:
    os.execv(sys.executable, [sys.executable, "-m", "prefect.engine", *args])


def _connect(path: Path) -> socket.socket:
    """A connection to the warm engine at `path`, starting it first when none answers."""
    with contextlib.suppress(OSError):
        return _dial(path)
    with open(path.with_suffix(".lock"), "w") as lock:  # one client starts it; others wait
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.suppress(OSError):
            return _dial(path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        log = open(path.with_suffix(".log"), "ab")  # noqa: SIM115 (handed to the child)
        server = subprocess.Popen(
            [sys.executable, "-m", "retrain_core.runtime.engine", "--serve", str(path)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            cwd="/",
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise OSError(f"the warm engine exited with {server.returncode}; see {log.name}")
            with contextlib.suppress(OSError):
                return _dial(path)
            time.sleep(0.1)
        raise OSError(f"the warm engine did not start in {START_SECONDS:.0f} s")


def _dial(path: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        raise
    return conn


def _run_remote(conn: socket.socket, args: list[str]) -> int:
    """Send the run to the warm engine with our stdio, pass signals on, return its exit code."""
    request = json.dumps({"args": args, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    socket.send_fds(conn, [HEADER.pack(len(request)) + request], [0, 1, 2])
    replies = conn.makefile("r")
    first = replies.readline().split()
    if first[:1] != ["pid"]:
        print(f"retrain-engine: the warm engine refused the run: {first}", file=sys.stderr)
        return 1
    pid = int(first[1])

    def forward(signum: int, _frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    last = replies.readline().split()  # "exit N" when the run ends
    return int(last[1]) if last[:1] == ["exit"] else 1


def stop_all(folder: Path) -> int:
    """SIGTERM every warm engine whose pid file is in `folder`: each stops taking runs at once
    and exits when the runs it started have ended."""
    stopped = 0
    for pid_file in folder.glob("engine-*.pid"):
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
            stopped += 1
        with contextlib.suppress(OSError):
            pid_file.unlink()
            pid_file.with_suffix(".sock").unlink()
    return stopped


# ---- the warm engine ---------------------------------------------------------------------------


def serve(path: Path) -> None:
    """Import PRELOAD, then fork one engine run per connection until idle (single-threaded)."""
    with imports_without_gc():  # frozen: a fork's collections skip them (and copy no pages)
        failed = preload(project=True)
    for name, exc in failed.items():
        print(f"retrain-engine: could not preload {name}: {exc}", flush=True)
    idle = float(os.environ.get("RETRAIN_ENGINE_IDLE_SECONDS", "600"))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    partial = path.with_suffix(f".{os.getpid()}")
    listener.bind(str(partial))
    os.chmod(partial, 0o600)
    listener.listen(64)
    os.replace(partial, path)  # clients see the socket only once it accepts
    path.with_suffix(".pid").write_text(f"{os.getpid()}\n")
    print(f"retrain-engine: warm engine {os.getpid()} serving on {path}", flush=True)
    outcome = _loop(listener, path, idle)
    if outcome is not None:  # in a forked run: leave through the normal interpreter exit
        sys.exit(outcome)
    print("retrain-engine: idle, stopping", flush=True)


def _loop(listener: socket.socket, path: Path, idle: float) -> int | None:
    """Accept runs, reap them, notice clients that died; a forked run returns its exit code."""
    runs: dict[int, socket.socket] = {}  # run pid -> its client's connection
    inode = os.stat(path).st_ino
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    last_activity = time.monotonic()
    try:
        while not _replaced(path, inode):  # removed or replaced socket: stop serving
            if stopping:
                break
            if runs:
                last_activity = time.monotonic()
            elif time.monotonic() - last_activity >= idle:
                break
            for key, _ in selector.select(timeout=0.2):
                if key.fileobj is listener:
                    conn, _ = listener.accept()
                    last_activity = time.monotonic()
                    child = _start_run(conn, listener, selector, runs)
                    if child is not None:
                        return child
                else:  # a client's connection is readable only once it closed: it died
                    selector.unregister(key.fileobj)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(key.data, signal.SIGKILL)
            _report_ended(runs, selector)
    finally:
        selector.close()
    with contextlib.suppress(OSError):
        if not _replaced(path, inode):
            path.unlink()
    listener.close()  # new clients start a new warm engine; ours finish first
    _drain(runs)
    return None


def _drain(runs: dict[int, socket.socket]) -> None:
    """Wait for the runs in progress to end."""
    while runs:
        _report_ended(runs, None)
        time.sleep(0.2)


def _report_ended(runs: dict[int, socket.socket], selector: selectors.BaseSelector | None) -> None:
    """Reap the runs that ended and tell each one's client its exit code."""
    for pid, code in _reaped():
        client = runs.pop(pid) if pid in runs else None
        if client is None:
            continue
        if selector is not None:
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(client)
        with contextlib.suppress(OSError):
            client.sendall(f"exit {code}\n".encode())
        client.close()


def _replaced(path: Path, inode: int) -> bool:
    """Whether our socket file is gone or another engine's has taken its place."""
    with contextlib.suppress(OSError):
        return os.stat(path).st_ino != inode
    return True


def _start_run(
    conn: socket.socket,
    listener: socket.socket,
    selector: selectors.BaseSelector,
    runs: dict[int, socket.socket],
) -> int | None:
    """Fork a run for one request; in the fork, run it and return its exit code."""
    try:
        request, fds = _receive(conn)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            conn.sendall(f"error {exc}\n".encode())
        conn.close()
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        selector.close()
        listener.close()
        for other in runs.values():
            other.close()
        conn.close()
        return _child(request, fds)
    for fd in fds:
        os.close(fd)
    runs[pid] = conn
    conn.sendall(f"pid {pid}\n".encode())
    selector.register(conn, selectors.EVENT_READ, data=pid)
    return None


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    if len(fds) != 3 or len(data) < HEADER.size:
        for fd in fds:
            os.close(fd)
        raise ValueError("a run needs its three standard streams and a request")
    (size,) = HEADER.unpack(data[: HEADER.size])
    body = data[HEADER.size :]
    while len(body) < size:
        more = conn.recv(size - len(body))
        if not more:
            raise ValueError("the request ended early")
        body += more
    return json.loads(body), fds


def _reaped() -> list[tuple[int, int]]:
    done: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done.append((pid, os.waitstatus_to_exitcode(status)))


def _child(request: dict[str, Any], fds: list[int]) -> int:
    """In the fork: become the client's run (its stdio, env, cwd, settings), run the engine."""
    import random
    import runpy

    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]  # as `python -m prefect.engine` started there would have it
    random.seed()
    sys.argv = ["prefect.engine", *request["args"]]
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGCHLD"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    fast_exit()
    try:
        from prefect.context import refresh_global_settings_context
        from prefect.logging.configuration import setup_logging

        refresh_global_settings_context()  # the run's PREFECT_* settings, not the warm engine's
        setup_logging(incremental=False)
        runpy.run_module("prefect.engine", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    main()
