"""Start, find and stop the sandbox's processes; find out who holds a port.

Every process runs in its own session (so its whole group can be stopped), logs to a file,
and has a pid file that also records the kernel start time, so a recycled pid is never
mistaken for ours.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sandbox.state import SandboxError, write_json_atomic


@dataclass(frozen=True)
class PidRecord:
    pid: int
    start_ticks: int
    argv: list[str]
    port: int | None = None


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state is index 0)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw[raw.rfind(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    fields = _proc_stat(pid)
    return int(fields[19]) if fields else None


def is_alive(record: PidRecord) -> bool:
    fields = _proc_stat(record.pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return int(fields[19]) == record.start_ticks


def group_members(pgid: int, not_before_ticks: int) -> list[int]:
    """Live processes in process group `pgid` started no earlier than our leader."""
    members = []
    for pid in _pids():
        fields = _proc_stat(pid)
        if fields is None or fields[0] in ("Z", "X"):
            continue
        if int(fields[2]) == pgid and int(fields[19]) >= not_before_ticks:
            members.append(pid)
    return members


def _pids() -> list[int]:
    with os.scandir("/proc") as entries:
        return [int(entry.name) for entry in entries if entry.name.isdigit()]


def read_pid_file(path: Path) -> PidRecord | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        return PidRecord(
            pid=int(payload["pid"]),
            start_ticks=int(payload["start_ticks"]),
            argv=[str(word) for word in payload["argv"]],
            port=payload.get("port"),
        )
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        # A pid file we cannot read names no process we could safely signal.
        path.unlink(missing_ok=True)
        return None


def live_record(path: Path) -> PidRecord | None:
    record = read_pid_file(path)
    if record is not None and not is_alive(record):
        return None
    return record


@dataclass
class Spawned:
    name: str
    popen: subprocess.Popen[bytes]
    record: PidRecord
    log_path: Path
    started_at: float

    def exited(self) -> int | None:
        return self.popen.poll()


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    pid_path: Path,
    port: int | None = None,
    user: str | None = None,
) -> Spawned:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {name}\n".encode())
        log.flush()
        try:
            popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
                group=user,
                extra_groups=[] if user else None,
            )
        except OSError as exc:
            raise SandboxError(f"{name}: cannot start {argv[0]}: {exc.strerror or exc}") from None
    ticks = start_ticks(popen.pid)
    record = PidRecord(pid=popen.pid, start_ticks=ticks or 0, argv=list(argv), port=port)
    write_json_atomic(pid_path, asdict(record))
    return Spawned(name, popen, record, log_path, time.monotonic())


def stop(
    record: PidRecord,
    *,
    sig: signal.Signals = signal.SIGTERM,
    leader_only: bool = False,
    timeout: float = 10.0,
) -> str:
    """Signal the process (or its whole group), wait, then SIGKILL the group. Says how it ended."""
    members = group_members(record.pid, record.start_ticks)
    if not members:
        return "not running"
    try:
        if leader_only and is_alive(record):
            os.kill(record.pid, sig)
        else:
            os.killpg(record.pid, sig)
    except ProcessLookupError:
        return "not running"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(record.pid)
        if not group_members(record.pid, record.start_ticks):
            return f"stopped ({sig.name})"
        time.sleep(0.05)
    try:
        os.killpg(record.pid, signal.SIGKILL)
    except ProcessLookupError:
        return f"stopped ({sig.name})"
    kill_deadline = time.monotonic() + 5.0
    while group_members(record.pid, record.start_ticks):
        _reap(record.pid)
        if time.monotonic() > kill_deadline:
            raise SandboxError(f"pid {record.pid} survived SIGKILL")
        time.sleep(0.05)
    return f"killed (no exit {timeout:.0f}s after {sig.name})"


def _reap(pid: int) -> None:
    # Our own children become zombies until waited for; other processes are not ours to wait.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _socket_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            # 0A is LISTEN, 07 is CLOSE (bound, not listening): both keep the port taken.
            if local_port == port and fields[3] in ("0A", "07"):
                inodes.add(fields[9])
    return inodes


def port_holder(port: int) -> str | None:
    """`pid N (command line)` of a process that has the port bound, when /proc tells."""
    inodes = {f"socket:[{inode}]" for inode in _socket_inodes(port) if inode != "0"}
    if not inodes:
        return None
    for pid in _pids():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target in inodes:
                return f"pid {pid} ({command_line(pid)})"
    return None


def command_line(pid: int, limit: int = 120) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    text = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_busy_port(port: int, part: str) -> str:
    holder = port_holder(port)
    who = f"held by {holder}" if holder else "held by a process this user cannot see"
    return f"port {port} on 127.0.0.1 (for {part}) is already in use, {who}"


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16_384))
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
