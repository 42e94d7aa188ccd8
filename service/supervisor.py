"""Scan worker processes beside `aew serve`: started, watched, restarted with backoff, ended on shutdown.

The scan is CPU-bound Python; run as a thread of the API it shares the interpreter lock and slows every request.
So `aew serve` starts AEW_SCAN_WORKERS child processes, each the same as `aew worker` with the same environment.
A child tells the supervisor when its scanner is loaded by writing one line to a pipe; the pipe's end of file
is how the supervisor learns that the child exited. A child also ends itself when its parent is gone.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("aew.supervisor")
current: "ScanSupervisor | None" = None     # the supervisor of this process (read by /healthz), if any

READY_FD_ENV = "AEW_WORKER_READY_FD"
PARENT_PID_ENV = "AEW_WORKER_PARENT_PID"


def worker_command() -> list[str]:
    """`aew worker`, run by the interpreter that runs this process (so the venv and sys.path are the same)."""
    return [sys.executable, "-m", "service.cli", "worker"]


def signal_ready() -> None:
    """In a supervised worker: tell the supervisor that the scanner is loaded (no-op when not supervised)."""
    fd = os.environ.pop(READY_FD_ENV, None)
    if fd is None:
        return
    try:
        os.write(int(fd), b"ready\n")
        os.close(int(fd))
    except OSError:
        pass


def parent_gone() -> bool:
    """In a supervised worker: whether the process that started it has died (the child is then orphaned)."""
    ppid = os.environ.get(PARENT_PID_ENV)
    return bool(ppid) and os.getppid() != int(ppid)


@dataclass
class Slot:
    """One worker position: the current child process in it and its history."""
    index: int
    proc: subprocess.Popen | None = None
    ready: bool = False
    started_at: float = 0.0
    restarts: int = 0
    failures: int = 0           # consecutive quick deaths: sets the backoff
    next_start: float = 0.0
    exited: threading.Event = field(default_factory=threading.Event)


class ScanSupervisor:
    """Keeps `count` scan worker processes running until stop()."""

    def __init__(self, count: int, *, command: list[str] | None = None, env: dict[str, str] | None = None,
                 backoff_seconds: float = 1.0, backoff_max_seconds: float = 30.0, stable_seconds: float = 60.0,
                 stop_timeout: float = 15.0):
        self.count = count
        self.command = command or worker_command()
        self.env = env
        self.backoff, self.backoff_max, self.stable = backoff_seconds, backoff_max_seconds, stable_seconds
        self.stop_timeout = stop_timeout
        self.slots = [Slot(i) for i in range(count)]
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="scan-supervisor", daemon=True)

    # --- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> "ScanSupervisor":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop restarting, ask every child to finish its note (SIGTERM), kill what is left after the timeout."""
        self._stop.set()
        self._wake.set()
        self._thread.join(5)
        with self._lock:
            procs = [s.proc for s in self.slots if s.proc is not None]
        for p in procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + self.stop_timeout
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("scan worker did not stop in time; killed", extra={"pid": p.pid})
                p.kill()
                p.wait(5)

    # --- state for /healthz ----------------------------------------------------------------------------------
    def status(self) -> dict:
        with self._lock:
            alive = [s for s in self.slots if s.proc is not None and s.proc.poll() is None]
            return {"configured": self.count, "alive": len(alive), "ready": sum(s.ready for s in alive),
                    "restarts": sum(s.restarts for s in self.slots)}

    def pids(self) -> list[int]:
        with self._lock:
            return [s.proc.pid for s in self.slots if s.proc is not None and s.proc.poll() is None]

    def all_ready(self) -> bool:
        st = self.status()
        return st["ready"] == self.count

    # --- the loop --------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for slot in self.slots:
                if self._stop.is_set():
                    break
                if slot.proc is not None and slot.proc.poll() is not None:
                    self._reap(slot, now)
                if slot.proc is None and now >= slot.next_start:
                    self._spawn(slot)
            waits = [s.next_start - now for s in self.slots if s.proc is None]
            self._wake.wait(min([0.5, *[max(0.05, w) for w in waits]]))
            self._wake.clear()

    def _spawn(self, slot: Slot) -> None:
        r, w = os.pipe()
        env = {**(self.env if self.env is not None else os.environ), READY_FD_ENV: str(w),
               PARENT_PID_ENV: str(os.getpid())}
        try:
            proc = subprocess.Popen(self.command, env=env, pass_fds=(w,), stdin=subprocess.DEVNULL)
        except OSError as e:
            os.close(r)
            os.close(w)
            log.error("cannot start scan worker", extra={"error": repr(e)})
            slot.failures += 1
            slot.next_start = time.monotonic() + self._delay(slot)
            return
        os.close(w)
        with self._lock:
            slot.proc, slot.ready, slot.started_at = proc, False, time.monotonic()
            slot.exited.clear()
        threading.Thread(target=self._watch, args=(slot, proc, r), name=f"scan-worker-{slot.index}-pipe",
                         daemon=True).start()
        log.info("scan worker started", extra={"slot": slot.index, "pid": proc.pid})

    def _watch(self, slot: Slot, proc: subprocess.Popen, fd: int) -> None:
        """Reads the child's pipe: a line = its scanner is loaded; end of file = it exited (or closed it)."""
        with os.fdopen(fd, "rb") as f:
            for line in f:
                if line.strip() == b"ready":
                    with self._lock:
                        if slot.proc is proc:
                            slot.ready = True
                    log.info("scan worker ready", extra={"slot": slot.index, "pid": proc.pid})
        proc.wait()
        slot.exited.set()
        self._wake.set()

    def _reap(self, slot: Slot, now: float) -> None:
        proc = slot.proc
        ran = now - slot.started_at
        if ran >= self.stable:
            slot.failures = 0
        slot.failures += 1
        delay = self._delay(slot)
        with self._lock:
            slot.proc, slot.ready = None, False
            slot.restarts += 1
            slot.next_start = now + delay
        log.error("scan worker exited; restarting", extra={"slot": slot.index, "pid": proc.pid,
                                                          "returncode": proc.returncode, "ran_s": round(ran, 1),
                                                          "restart_in_s": round(delay, 1)})

    def _delay(self, slot: Slot) -> float:
        """1 s after the first quick death, doubling to the maximum; back to 1 s once a child ran `stable` s."""
        return min(self.backoff_max, self.backoff * 2 ** max(0, slot.failures - 1))
