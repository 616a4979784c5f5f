"""Profile one of Causerie's hot paths under load with py-spy.

    .venv/bin/python bench/hotspots.py read|304|counts|post [--duration 10] [--no-limits]

Seeds a fresh SQLite database like the benchmark, starts Causerie under
gunicorn with ONE worker (so one process has all the samples), drives the
chosen request at it with the benchmark's load generator, and samples that
worker with py-spy (installed into bench/.tools-venv on first use).  Prints
the functions with the largest share of samples, inclusive and self, and
keeps the folded stacks (flame-graph input) in bench/.work/.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen
import services
from procs import get
from run import Bench, parse_args

TOOLS = services.BENCH / ".tools-venv"


def py_spy() -> Path:
    binary = TOOLS / "bin" / "py-spy"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        subprocess.run([str(TOOLS / "bin" / "pip"), "install", "--quiet", "py-spy"], check=True)
    return binary


def summarize(folded: Path, top: int = 25) -> str:
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].split("site-packages/")[-1] + ")"
                  if " (" in f else f for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    lines = [f"{total} samples", "", "inclusive (gunicorn's own frames left out):"]
    lines += [f"  {n / total * 100:5.1f}%  {f}" for f, n in inclusive.most_common(top * 2)
              if "(gunicorn/" not in f and not f.startswith("<module>")][:top]
    lines += ["", "self:"]
    lines += [f"  {n / total * 100:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", choices=("read", "304", "counts", "post"))
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--no-limits", action="store_true", help="with CAUSERIE_RATELIMIT_ENABLED=false")
    parser.add_argument("--postgres", action="store_true",
                        help="on a fresh PostgreSQL database, with the shared limits in Redis (as deployed)")
    parser.add_argument("--idle", action="store_true",
                        help="sample the worker while it waits too (for the database, Redis, the next request)")
    options = parser.parse_args()
    spy = py_spy()
    bench = Bench(parse_args(["--workers", "1", "--connections", "2"]))
    workdir = bench.workdir
    if options.postgres:
        causerie = services.Causerie(workdir, "postgresql", services.fresh_postgres_database(), bench.origin, 1)
        causerie.env["CAUSERIE_RATELIMIT_STORAGE_URI"] = services.REDIS_URL
    else:
        causerie = services.Causerie(workdir, "sqlite", f"sqlite:///{workdir / 'causerie.db'}", bench.origin, 1)
    causerie.setup()
    extra = {"CAUSERIE_RATELIMIT_ENABLED": "false"} if options.no_limits else {}
    out_dir = services.BENCH / ".work"
    out_dir.mkdir(exist_ok=True)
    suffix = "".join(f"-{name}" for name in ("postgres", "idle") if getattr(options, name))
    folded = out_dir / f"profile-{options.path}{'-nolimits' if options.no_limits else ''}{suffix}.folded"
    try:
        results = profile(options, spy, bench, causerie, extra, folded)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{options.path}: {results['r'].rps:,.0f} req/s with 1 worker (under py-spy)\n")
    print(summarize(folded))
    print(f"\nfolded stacks: {folded}")
    return 0


def profile(options, spy: Path, bench: Bench, causerie: services.Causerie, extra: dict, folded: Path) -> dict:
    """Load the chosen path at one worker and record it with py-spy."""
    with causerie.server(**extra) as server:
        _, headers, _ = get(server.port, bench.causerie_thread_path(), {"Origin": bench.origin})
        time.sleep(4)  # the load-time ticket must look like a person's
        scenario = bench.causerie_scenarios(headers["etag"], headers.get("causerie-ticket"))[options.path]
        loadgen.run(scenario, server.port, 2, 2)
        worker = server.worker_pids()[0]
        results = {}
        load = threading.Thread(target=lambda: results.update(
            r=loadgen.run(scenario, server.port, options.duration + 2, 2)))
        load.start()
        time.sleep(1)
        subprocess.run([str(spy), "record", "--pid", str(worker), "--duration", str(int(options.duration)),
                        "--rate", "500", "--format", "raw", "--output", str(folded), "--nonblocking",
                        *(["--idle"] if options.idle else [])],
                       check=True, capture_output=True)
        load.join()
    return results


if __name__ == "__main__":
    sys.exit(main())
