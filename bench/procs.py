"""Starting and stopping the servers under test, and measuring their memory.

Every server is a gunicorn master started in its own process group, so it
and its workers are stopped together, by the group id we started.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None, method: str = "GET", body: bytes | None = None,
        timeout: float = 60.0) -> tuple[int, dict, bytes]:
    """One request to a local server: (status, lower-cased headers, raw body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


class Gunicorn:
    """A gunicorn master with ``workers`` sync workers, serving one WSGI app."""

    def __init__(self, name: str, gunicorn: Path, app: str, workers: int, cwd: Path, env: dict,
                 log_dir: Path, ready_path: str = "/"):
        self.name = name
        self.port = free_port()
        self.ready_path = ready_path
        self.log = log_dir / f"{name}.log"
        # No access log: formatting one line per request would be measured too.
        self.command = [str(gunicorn), "-w", str(workers), "-b", f"{HOST}:{self.port}",
                        "--error-logfile", str(self.log), "--timeout", "120", app]
        self.cwd = cwd
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> Gunicorn:
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log}:\n{self._tail()}")
            try:
                get(self.port, self.ready_path, timeout=5)
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f}s; see {self.log}")

    def _tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        """The master's direct children: its workers."""
        if self.process is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces; the ppid is after the last ')'.
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == self.process.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def worker_rss(self) -> list[int]:
        """Resident memory of each worker, in bytes."""
        return self._worker_memory("status", "VmRSS:")

    def worker_pss(self) -> list[int]:
        """Proportional memory of each worker, in bytes: its resident pages,
        each shared page divided by the number of processes that map it
        (the libraries' code, counted once in all rather than once per worker)."""
        return self._worker_memory("smaps_rollup", "Pss:")

    def _worker_memory(self, table: str, field: str) -> list[int]:
        sizes = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/{table}").read_text().splitlines():
                    if line.startswith(field):
                        sizes.append(int(line.split()[1]) * 1024)
            except OSError:
                pass
        return sizes

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


_TICK = os.sysconf("SC_CLK_TCK")


def processes_named(name: str) -> list[int]:
    """The pids of the processes whose command name is ``name`` (such as a
    database server's)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile
    return pids


def machine_busy_seconds() -> float:
    """CPU seconds spent not idle, summed over every CPU, since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICK


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes."""
    total = 0.0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


class OtherLoad:
    """How much of the machine processes other than ours used during a run.

    Other sessions or test suites on a shared machine make numbers noisy; the
    report says how busy the machine was, so a reader can tell.
    """

    def __init__(self, server_pids: list[int]):
        self.pids = server_pids

    def _ours(self) -> float:
        t = os.times()
        return process_cpu_seconds(self.pids) + t.user + t.system + t.children_user + t.children_system

    def __enter__(self) -> OtherLoad:
        self.started = time.monotonic()
        self.busy0, self.ours0 = machine_busy_seconds(), self._ours()
        return self

    def __exit__(self, *exc) -> None:
        elapsed = time.monotonic() - self.started
        other = (machine_busy_seconds() - self.busy0) - (self._ours() - self.ours0)
        self.fraction = max(0.0, other / (elapsed * (os.cpu_count() or 1)))


class CpuUse:
    """CPU seconds each group of processes used during a run, and the whole
    machine's (every process, the load generator and the kernel's own work
    included)."""

    def __init__(self, groups: dict[str, list[int]]):
        self.groups = groups

    def __enter__(self) -> CpuUse:
        self.start = {name: process_cpu_seconds(pids) for name, pids in self.groups.items()}
        self.machine0 = machine_busy_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = {name: process_cpu_seconds(pids) - self.start[name] for name, pids in self.groups.items()}
        self.seconds["machine"] = machine_busy_seconds() - self.machine0


def wait_until_quiet(limit: float = 0.1, patience: float = 60.0) -> float:
    """Wait (at most ``patience`` s) for a second in which other processes use
    less than ``limit`` of the CPU; return the last share seen."""
    deadline = time.monotonic() + patience
    share = 1.0
    while True:
        busy = machine_busy_seconds()
        time.sleep(1.0)
        share = (machine_busy_seconds() - busy) / (os.cpu_count() or 1)
        if share < limit or time.monotonic() > deadline:
            return share
