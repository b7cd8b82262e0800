"""Who runs a job: the identity of a process, and whether a process so named is known to be gone.

A job, matching run or Idempotency-Key claim records the process that holds it. A heartbeat
tells a dead holder only after :data:`~matchmaker.jobs.tracking.STALE_AFTER_SECONDS`; when the
holder ran on this very machine (same host, boot and PID namespace, as under ``make run`` or on
a single host) a look at ``/proc`` tells at once that it was killed, so its retry need not wait.
Anything else (another host or container, another OS) is never called gone here: a live holder
taken for dead would let a retry do the work twice.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path

_PROC = Path("/proc")
_SEP = "|"


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """The start time of process ``pid`` in clock ticks since boot ("" if there is none, or it
    is a zombie: killed, not yet reaped)."""
    stat = _read(_PROC / str(pid) / "stat")
    # The command name is in parentheses and may hold spaces; the fields after it are fixed.
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20 or fields[0] in {"Z", "X"}:
        return ""
    return fields[19]


@functools.cache
def _machine() -> str:
    """This machine and PID namespace: the part of an identity that must match for a PID to
    mean the same process here."""
    boot = _read(_PROC / "sys" / "kernel" / "random" / "boot_id")
    try:
        namespace = os.readlink(_PROC / "self" / "ns" / "pid")
    except OSError:
        namespace = ""
    return _SEP.join((socket.gethostname(), boot, namespace))


def process_identity(pid: int | None = None) -> str:
    """A name of process ``pid`` (this one by default) that no other process ever shares: the
    machine, PID namespace, PID and start time (on Linux; elsewhere host and PID only)."""
    pid = os.getpid() if pid is None else pid
    return _SEP.join((_machine(), str(pid), _start_time(pid)))[:200]


def process_gone(identity: str | None) -> bool:
    """Whether the process ``identity`` names is known to have ended: it ran on this machine
    and in this PID namespace, and no process with its PID and start time exists any more."""
    if not identity:
        return False
    machine, _, rest = identity.rpartition(_SEP)  # rest: the start time
    machine, _, pid = machine.rpartition(_SEP)
    if machine != _machine() or not rest or not pid.isdigit() or "" in machine.split(_SEP):
        return False
    return _start_time(int(pid)) != rest
