"""Run one command of the throughput benchmark and measure it: wall time, and its process tree's peak RSS
and CPU seconds, polled every 50 ms while it runs (``tests.benchmarks.rss.RssSampler``).

Alongside, for judging the noise of a shared machine: the CPU the whole machine spent meanwhile, the
site server's and this harness's, so that what other processes used during the run can be told.
"""
from __future__ import annotations

import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tests.benchmarks.rss import RssSampler


@dataclass
class Measured:
    """What ``run_measured`` saw of one command."""

    returncode: int
    out: str
    err: str
    seconds: float
    sampler: RssSampler
    machine_busy: float
    """CPU seconds the whole machine spent not idle during the run (every process on it)."""
    server_cpu: float
    """CPU seconds of the site server during the run (0 when no server pid was given)."""
    harness_cpu: float
    """CPU seconds of this process during the run (the sampler thread, mostly)."""
    rusage_cpu: float
    """CPU seconds of the command and its descendants as the kernel accounts them when they are reaped:
    a cross-check of the polled figure (processes never waited for are missing from it)."""

    @property
    def tree_cpu(self) -> float:
        """CPU seconds of the command's process tree, as polled."""
        return self.sampler.cpu_seconds()

    @property
    def others_cpu(self) -> float:
        """CPU seconds the rest of the machine (other users' processes) used during the run."""
        return max(0.0, self.machine_busy - self.tree_cpu - self.server_cpu - self.harness_cpu)

    def extra(self) -> dict[str, float]:
        """The diagnostics as a ``Row.extra`` dict."""
        return {"machine_busy": self.machine_busy, "server_cpu": self.server_cpu, "others_cpu": self.others_cpu,
                "rusage_cpu": self.rusage_cpu, "peak_pss": float(self.sampler.peak_pss)}


def run_measured(cmd: list[str], cwd: Path | None = None, server_pid: int | None = None) -> Measured:
    """Run ``cmd`` to its end with stdout and stderr captured, sampling its process tree meanwhile."""
    machine = psutil.cpu_times()
    server = cpu_of(server_pid) if server_pid else 0.0
    harness = time.process_time()
    children = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    with RssSampler(proc.pid) as sampler:
        out, err = proc.communicate()
    seconds = time.perf_counter() - started
    return Measured(
        returncode=proc.returncode, out=out, err=err, seconds=seconds, sampler=sampler,
        machine_busy=busy_seconds(psutil.cpu_times()) - busy_seconds(machine),
        server_cpu=(cpu_of(server_pid) - server) if server_pid else 0.0,
        harness_cpu=time.process_time() - harness, rusage_cpu=_children_cpu() - children)


def busy_seconds(times: Any) -> float:
    """CPU seconds the whole machine spent not idle, from ``psutil.cpu_times()``."""
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _children_cpu() -> float:
    """User + system CPU seconds of this process's reaped descendants so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
