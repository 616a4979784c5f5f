"""Drive load at a local server from a second process: wrk, or Python threads.

Both report the same numbers: requests per second and the 50th/99th
percentile latency over a bounded run, plus how many answers were not the
expected status.  Posting scenarios make every body unique (a counter in the
text), so no duplicate-text rule can short-cut the write path.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from procs import HOST


@dataclass
class Scenario:
    """One kind of request, sent over and over."""

    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: str | None = None
    # A body with "{n}" in it gets a fresh number per request.
    unique_body: bool = False
    expect: int = 200


@dataclass
class Result:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int  # answers with another status than expected, or socket errors
    tool: str
    # Share of the machine's CPU used by processes other than the benchmark's
    # during the run (filled in by the caller).
    other_cpu: float = 0.0
    # CPU milliseconds per request by group of processes (the server's own,
    # its database's, the machine's in all), filled in by the caller.
    cpu_ms: dict[str, float] = field(default_factory=dict)


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run(scenario: Scenario, port: int, duration: float, connections: int, prefer_wrk: bool = True) -> Result:
    """Load ``scenario`` at ``port`` for ``duration`` seconds."""
    if prefer_wrk and have_wrk():
        return _run_wrk(scenario, port, duration, connections)
    return _run_python(scenario, port, duration, connections)


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


_LUA = """
wrk.method = {method}
wrk.path = {path}
{headers}
local template = {body}
local unique = {unique}
local expect = {expect}
local n = 0
local prefix = tostring(os.time()) .. tostring(math.random(1000000))
local bad = 0
request = function()
  if unique then
    n = n + 1
    local body = string.gsub(template, "{{n}}", prefix .. "x" .. n)
    return wrk.format(nil, nil, nil, body)
  end
  return wrk.format(nil, nil, nil, template)
end
response = function(status, headers, body)
  if status ~= expect then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("unexpected status " .. status .. ": " .. string.sub(body, 1, 300) .. "\\n") end
  end
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %.3f %.3f %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def _run_wrk(scenario: Scenario, port: int, duration: float, connections: int) -> Result:
    headers = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in scenario.headers.items())
    script = _LUA.format(method=_lua_string(scenario.method), path=_lua_string(scenario.path), headers=headers,
                         body=_lua_string(scenario.body) if scenario.body is not None else "nil",
                         unique="true" if scenario.unique_body else "false", expect=scenario.expect)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        script_path = handle.name
    try:
        proc = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "60s",
             "-s", script_path, f"http://{HOST}:{port}{scenario.path}"],
            capture_output=True, text=True, timeout=duration + 120,
        )
    finally:
        Path(script_path).unlink(missing_ok=True)
    match = re.search(r"^BENCH (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)$", proc.stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk failed:\n{proc.stdout}\n{proc.stderr}")
    requests, micros, p50, p99, errors = match.groups()
    seconds = int(micros) / 1e6
    # wrk counts non-2xx/3xx as errors itself; a 3xx other than expected is caught by the script.
    unexpected = len(re.findall(r"^unexpected status", proc.stderr, re.M))
    bad = int(errors) + (unexpected if int(errors) == 0 else 0)
    return Result(int(requests), seconds, int(requests) / seconds, float(p50) / 1000, float(p99) / 1000,
                  bad, "wrk")


def _run_python(scenario: Scenario, port: int, duration: float, connections: int) -> Result:
    """Threads with one keep-alive connection each (re-opened when the server closes it)."""
    latencies: list[float] = []
    bad = [0]
    counter = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    prefix = f"{int(time.time())}"

    def worker() -> None:
        conn = None
        local: list[float] = []
        while time.monotonic() < stop_at:
            body = scenario.body
            if scenario.unique_body and body is not None:
                with lock:
                    counter[0] += 1
                    number = counter[0]
                body = body.replace("{n}", f"{prefix}x{number}")
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, port, timeout=60)
                conn.request(scenario.method, scenario.path, body=body.encode() if body else None,
                             headers=scenario.headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == scenario.expect
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                ok = False
                if conn is not None:
                    conn.close()
                conn = None
            local.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    bad[0] += 1
        with lock:
            latencies.extend(local)

    began = time.monotonic()
    workers = [threading.Thread(target=worker) for _ in range(connections)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    seconds = time.monotonic() - began
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))] * 1000

    return Result(len(latencies), seconds, len(latencies) / seconds, pct(50), pct(99), bad[0], "python")
