"""Peak resident memory of a process tree (a crawl and its pool workers), sampled in a thread."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil


def tree(pid: int) -> list[psutil.Process]:
    """``pid`` and its live descendants (empty once it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_pss(pid: int) -> int:
    """Proportional set size of ``pid`` and its descendants: shared pages split between their users.

    Slower to read than RSS (it walks /proc/PID/smaps), so it is sampled less often.
    """
    total = 0
    for proc in tree(pid):
        try:
            total += proc.memory_full_info().pss
        except (psutil.Error, AttributeError):
            continue
    return total


def tree_rss(pid: int, cpu: dict[int, float] | None = None, peaks: dict[int, int] | None = None) -> int:
    """Resident bytes of ``pid`` plus all its live descendants (0 once it is gone).

    When ``cpu`` is given, each process's user + system CPU seconds so far are stored in it by pid; when
    ``peaks`` is given, each process's highest RSS seen so far.
    """
    total = 0
    for proc in tree(pid):
        try:
            with proc.oneshot():
                rss = proc.memory_info().rss
                total += rss
                if peaks is not None:
                    peaks[proc.pid] = max(peaks.get(proc.pid, 0), rss)
                if cpu is not None:
                    times = proc.cpu_times()
                    cpu[proc.pid] = times.user + times.system
        except psutil.Error:
            continue  # a worker that just exited
    return total


class RssSampler:
    """Samples ``tree_rss(pid)`` every ``interval`` seconds until stopped; keeps the peak and a timeline
    (and the peak of ``tree_pss`` read every ``PSS_EVERY`` samples).

    Use as a context manager around the process's lifetime.
    """

    PSS_EVERY = 20  # samples between two PSS readings (1 s at the default interval)

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.peak_pss = 0
        self.samples: list[tuple[float, int]] = []  # (seconds since start, bytes)
        self.cpu: dict[int, float] = {}  # last CPU seconds seen per pid of the tree
        self.peak_by_pid: dict[int, int] = {}  # highest RSS seen per pid of the tree
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        started = time.perf_counter()
        count = 0
        while not self._stop.is_set():
            count += 1
            if count % self.PSS_EVERY == 0:
                self.peak_pss = max(self.peak_pss, tree_pss(self.pid))
            rss = tree_rss(self.pid, self.cpu, self.peak_by_pid)
            if rss:
                self.peak = max(self.peak, rss)
                self.samples.append((time.perf_counter() - started, rss))
            self._stop.wait(self.interval)

    def cpu_seconds(self) -> float:
        """CPU seconds used by the tree's processes (as last sampled: up to one interval short each)."""
        return sum(self.cpu.values())

    def peak_between(self, start: float, end: float) -> int:
        """Highest sample taken between ``start`` and ``end`` (fractions of the sampled span)."""
        if not self.samples:
            return 0
        span = self.samples[-1][0] or 1.0
        inside = [rss for t, rss in self.samples if start * span <= t <= end * span]
        return max(inside, default=0)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# Run a command as the only child of a fresh interpreter, which prints the child's peak RSS on stderr.
_PEAK_PROBE = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
               "print('maxrss_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
               "sys.exit(code)")


def run_with_peak_rss(cmd: list[str], cwd: Path, timeout: float) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``cmd`` and return it finished (text mode) with the peak RSS in MB of its largest process.

    Measured by the kernel (``getrusage`` of a parent that runs nothing else), so nothing is sampled or missed.
    """
    done = subprocess.run([sys.executable, "-c", _PEAK_PROBE, *cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    head, _, tail = done.stderr.rpartition("maxrss_kb")
    done.stderr = head
    return done, int(tail.split()[0]) / 1024 if tail else float("nan")
