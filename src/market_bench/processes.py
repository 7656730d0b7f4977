"""CPU seconds (user + system, over a phase) and peak memory (VmHWM) of every process of the platform,
with their children (uvicorn workers, nginx workers), and of the bench itself."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psutil

# Pid files of the infrastructure `market up` starts (see scripts/infra/*.sh), under the state dir.
INFRA_PID_FILES = {"mariadb": "mariadb/mysqld.pid", "kafka": "kafka/kafka.pid", "nginx": "nginx/nginx.pid"}


def peak_rss_mb(pid: int) -> float | None:
    """The process's high-water mark of resident memory (VmHWM), in MiB; None when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


@dataclass
class Watched:
    name: str
    pid: int
    process: psutil.Process
    cpu_at_start: float
    cpu_last: float
    peak_rss_mb: float | None = None


class ProcessWatch:
    """Follows named root processes and their descendants; `sample()` now and then catches short-lived
    children, `figures()` says what each used since `start()`."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = {**roots, "bench (load generator)": os.getpid()}
        self.watched: dict[int, Watched] = {}

    def start(self) -> None:
        self.watched.clear()
        self.sample(baseline=True)

    def _track(self, name: str, proc: psutil.Process, baseline: bool) -> None:
        try:
            cpu = _cpu(proc)
        except psutil.Error:
            return
        seen = self.watched.get(proc.pid)
        if seen is None:
            self.watched[proc.pid] = Watched(name, proc.pid, proc, cpu if baseline else 0.0, cpu)
        else:
            seen.cpu_last = cpu
        self.watched[proc.pid].peak_rss_mb = peak_rss_mb(proc.pid) or self.watched[proc.pid].peak_rss_mb

    def sample(self, baseline: bool = False) -> None:
        for name, pid in self.roots.items():
            try:
                root = psutil.Process(pid)
                children = root.children(recursive=True)
            except psutil.Error:
                continue
            self._track(name, root, baseline)
            for child in children:
                if child.pid != os.getpid():
                    self._track(f"{name} child", child, baseline)

    def figures(self, seconds: float) -> list[dict[str, object]]:
        """Per process: name, pid, CPU seconds and share of one core over `seconds`, peak RSS (MiB)."""
        self.sample()
        rows = []
        for w in self.watched.values():
            cpu = max(0.0, w.cpu_last - w.cpu_at_start)
            rows.append(
                {
                    "name": w.name,
                    "pid": w.pid,
                    "cpu_s": round(cpu, 2),
                    "cpu_percent": round(100 * cpu / seconds, 1) if seconds > 0 else 0.0,
                    "peak_rss_mb": w.peak_rss_mb,
                }
            )
        return rows


def distributed_pids(state_dir: Path) -> dict[str, int]:
    """The processes of `market up`: STATE/run/*.pid (services, PG sandbox), then MariaDB, Kafka, nginx."""
    files = {p.stem: p for p in sorted((state_dir / "run").glob("*.pid"))}
    files.update({name: state_dir / rel for name, rel in INFRA_PID_FILES.items()})
    pids = {}
    for name, path in files.items():
        try:
            pid = int("".join(c for c in path.read_text() if c.isdigit()))
        except (OSError, ValueError):
            continue
        if psutil.pid_exists(pid):
            pids[name] = pid
    return pids
