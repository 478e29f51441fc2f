"""Start, recognise and stop the cluster's daemons, each in its own process group."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from llmops_dev.errors import ClusterError

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ProcessRecord:
    """A started daemon: its pid (also its process-group id) and kernel start time.

    The start time tells our process apart from an unrelated one that later got the same pid.
    """

    name: str
    pid: int
    start_ticks: int


@dataclass(frozen=True)
class _Stat:
    state: str
    pgrp: int
    start_ticks: int


def _stat(pid: int) -> _Stat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return _Stat(state=fields[0], pgrp=int(fields[2]), start_ticks=int(fields[19]))


# Daemons this process started: Popen reaps them and keeps the exit code for the error message.
_children: dict[int, subprocess.Popen[bytes]] = {}


def _reap(pid: int) -> None:
    if (child := _children.get(pid)) is not None:
        child.poll()
        return
    # For daemons an earlier `up` started init reaps them; other pids are not ours to wait for.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    # SIGKILL, not SIGTERM: all daemons get it at once, and an apiserver whose etcd is already gone
    # would hang in its graceful shutdown.
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def start(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    die_with_parent: bool = False,
    pass_fds: Sequence[int] = (),
) -> ProcessRecord:
    """Start a daemon detached in a new session, stdout and stderr appended to `log_path`.

    With `die_with_parent` the kernel SIGKILLs the daemon when the starting process dies, so a killed
    test run leaves no daemons behind; `llmops dev up` leaves it off because it exits at once.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent else None,  # noqa: PLW1509 - only prctl
            pass_fds=tuple(pass_fds),
        )
    _children[proc.pid] = proc
    stat = _stat(proc.pid)
    # A daemon that died within microseconds still gets a record, so the caller reports its log.
    return ProcessRecord(name=name, pid=proc.pid, start_ticks=stat.start_ticks if stat else -1)


def is_running(record: ProcessRecord) -> bool:
    """True when the recorded process is alive (not a zombie) and is the one we started."""
    _reap(record.pid)
    stat = _stat(record.pid)
    return stat is not None and stat.start_ticks == record.start_ticks and stat.state not in ("Z", "X")


def exit_status(record: ProcessRecord) -> int | None:
    """The exit code of a daemon this process started and that has exited, else None."""
    child = _children.get(record.pid)
    return child.poll() if child is not None else None


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _stat(pid)
        if stat is None or stat.pgrp != pgid:
            continue
        if stat.state in ("Z", "X"):
            _reap(pid)
            continue
        members.append(pid)
    return members


def _owns_group(record: ProcessRecord) -> bool:
    stat = _stat(record.pid)
    if stat is None:
        # The leader is gone; a group with its id can only be ours while members remain.
        return bool(group_members(record.pid))
    return stat.start_ticks == record.start_ticks


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def stop(record: ProcessRecord, *, grace: float = 10.0) -> None:
    """SIGTERM the daemon's process group, SIGKILL it after `grace` seconds; verify it is empty."""
    _reap(record.pid)
    if not _owns_group(record):
        return
    for sig, timeout in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(record.pid, sig)
        except ProcessLookupError:
            return
        if _wait(lambda: not group_members(record.pid), timeout):
            return
    raise ClusterError(f"{record.name} (pid {record.pid}) survived SIGKILL: {group_members(record.pid)}")


def await_gone(records: Sequence[ProcessRecord], *, timeout: float = 5.0) -> None:
    """Wait until stopped daemons have left the process table altogether.

    An exited daemon lingers as <defunct> until its parent reaps it: this process if it started the
    daemon, else init, which may take a couple of seconds. Waiting for all at once bounds that cost.
    """

    def gone(record: ProcessRecord) -> bool:
        _reap(record.pid)
        stat = _stat(record.pid)
        return stat is None or stat.start_ticks != record.start_ticks

    _wait(lambda: all(gone(r) for r in records), timeout)


def rss_bytes(record: ProcessRecord) -> int:
    """Resident memory of the daemon, 0 when it is not running."""
    if not is_running(record):
        return 0
    try:
        for line in Path(f"/proc/{record.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        return 0
    return 0
