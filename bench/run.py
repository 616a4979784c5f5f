"""Benchmark Causerie against Isso on this machine, and check the targets.

    .venv/bin/python bench/run.py [--workers 2] [--duration 10] [--quick]

Run it on purpose (the test suite never does).  It sets everything up in a
temporary directory, runs each server alone (so they never compete for the
CPU), drives load from a second process, prints a table with a PASS/FAIL
column per target, and writes bench/RESULTS.md.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import platform
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dataset
import loadgen
import report
import services
from loadgen import Scenario
from procs import CpuUse, OtherLoad, free_port, get, processes_named, wait_until_quiet

POST_PATH = "/posts/benchmark-posting/"
PROPAGATION_PATH = "/posts/benchmark-propagation/"
# Share of the CPU used by other processes above which a run is repeated.
NOISY = 0.1
POST_TEXT = "A *benchmark* comment, number {n}: it says something short, like a reader would."


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server (default 2)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections (default 4)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measure every server this many times, in whole rounds, and keep each one's fastest "
                             "run (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="3-second runs, no PostgreSQL, 100 thousand instead of 1 million rows")
    parser.add_argument("--skip-1m", action="store_true", help="stop the database-size test at 100 thousand rows")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--skip-isso", action="store_true",
                        help="no Isso (a smoke run of Causerie's own rows; Isso's columns show -)")
    parser.add_argument("--skip-render", action="store_true", help="no Chromium render timing")
    parser.add_argument("--python-loadgen", action="store_true",
                        help="use the Python load generator even if wrk exists")
    parser.add_argument("--patience", type=float, default=20,
                        help="seconds to wait for other processes to go quiet before each run (default 20)")
    parser.add_argument("--nice", type=int, default=0,
                        help="run the benchmark, its servers and load generator at this nice level "
                             "(e.g. -10 as root, to be disturbed less by other work on a shared machine)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    parser.add_argument("--results", type=Path, default=Path(__file__).resolve().parent / "RESULTS.md",
                        help="where to write the results (default bench/RESULTS.md)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 3)
        args.rounds = 1
        args.skip_postgres = True
        args.skip_1m = True
    return args


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="causerie-bench-"))
        self.origin_port = free_port()
        self.origin = f"http://127.0.0.1:{self.origin_port}"
        self.results: dict = {"notes": []}

    # ------------------------------------------------------------ helpers

    def load(self, scenario: Scenario, server, duration: float | None = None, connections: int | None = None):
        """One measured run; repeated (best of 2) when other work on the machine disturbed it."""
        duration = duration or self.args.duration
        connections = connections or self.args.connections
        prefer_wrk = not self.args.python_loadgen
        # A short warm-up first: imports, caches, connection pools.
        loadgen.run(scenario, server.port, min(2.0, duration), connections, prefer_wrk=prefer_wrk)
        best = None
        for _ in range(2):
            wait_until_quiet(patience=self.args.patience)
            # The database server's processes work for the server measured.
            own = [server.process.pid, *server.worker_pids()]
            groups = {"server": own, "postgres": processes_named("postgres"), "redis": processes_named("redis-server")}
            with OtherLoad(own + groups["postgres"] + groups["redis"]) as other, CpuUse(groups) as cpu:
                result = loadgen.run(scenario, server.port, duration, connections, prefer_wrk=prefer_wrk)
            result.other_cpu = other.fraction
            result.cpu_ms = {name: seconds * 1000 / max(1, result.requests) for name, seconds in cpu.seconds.items()}
            if best is None or result.other_cpu < best.other_cpu:
                best = result
            if result.other_cpu <= NOISY:
                break
        self.results["other_cpu"] = max(self.results.get("other_cpu", 0.0), best.other_cpu)
        if best.bad:
            self.results["notes"].append(f"{best.bad} unexpected answers in {scenario.method} {scenario.path[:60]}")
        return best

    def causerie_thread_path(self, path: str = dataset.BIG_THREAD) -> str:
        return "/api/threads?" + urllib.parse.urlencode({"site": services.SITE_KEY, "url": self.origin + path})

    def causerie_scenarios(self, etag: str, ticket: str | None) -> dict[str, Scenario]:
        urls = [self.origin + dataset.BIG_THREAD] + [
            self.origin + dataset.small_thread_path(n) for n in range(1, 20)]
        counts = "/api/counts?" + urllib.parse.urlencode([("site", services.SITE_KEY)] + [("url", u) for u in urls])
        body = json.dumps({"site": services.SITE_KEY, "url": self.origin + POST_PATH, "title": "Posting",
                           "author": "Bench Reader", "email": "reader@example.org",
                           "text": POST_TEXT, "ticket": ticket})
        return {
            "read": Scenario("GET", self.causerie_thread_path(), {"Origin": self.origin}),
            "304": Scenario("GET", self.causerie_thread_path(), {"Origin": self.origin, "If-None-Match": etag},
                            expect=304),
            "counts": Scenario("GET", counts, {"Origin": self.origin}),
            "post": Scenario("POST", "/api/comments", {"Origin": self.origin, "Content-Type": "application/json"},
                             body, unique_body=True, expect=201),
        }

    # ------------------------------------------------------------- phases

    def isso_scenarios(self) -> dict[str, Scenario]:
        paths = [dataset.BIG_THREAD] + [dataset.small_thread_path(n) for n in range(1, 20)]
        return {
            "read": Scenario("GET", "/?" + urllib.parse.urlencode({"uri": dataset.BIG_THREAD})),
            "counts": Scenario("POST", "/count", {"Content-Type": "application/json"}, json.dumps(paths)),
            "post": Scenario("POST", "/new?" + urllib.parse.urlencode({"uri": POST_PATH}),
                             {"Content-Type": "application/json"},
                             json.dumps({"title": "Posting", "author": "Bench Reader", "email": "reader@example.org",
                                         "text": POST_TEXT}), unique_body=True, expect=201),
        }

    def start_causerie(self, stack: ExitStack, causerie: services.Causerie):
        """Three servers on one database: two as deployed (rate limits on), one
        reading and one posting, which are also the two instances of the
        propagation measure; and one with rate limiting off (information rows)."""
        reader = stack.enter_context(causerie.server())
        writer = stack.enter_context(causerie.server())
        unlimited = stack.enter_context(causerie.server(CAUSERIE_RATELIMIT_ENABLED="false"))
        status, headers, body = get(reader.port, self.causerie_thread_path(), {"Origin": self.origin})
        if status != 200 or len(json.loads(body)["comments"]) != dataset.BIG_SIZE:
            raise RuntimeError(f"Causerie's thread is not the seeded one: {status} {body[:200]!r}")
        return reader, writer, unlimited, body, headers["etag"], headers.get("causerie-ticket"), time.monotonic()

    def propagation(self, reader, writer, ticket: str | None, issued: float, samples: int = 21) -> list[float]:
        """Milliseconds from a comment's 201 on one instance to a reader of
        another instance seeing it (polled as fast as one connection can)."""
        time.sleep(max(0.0, 4 - (time.monotonic() - issued)))
        path = self.causerie_thread_path(PROPAGATION_PATH)
        headers = {"Origin": self.origin, "Content-Type": "application/json"}
        took = []
        for number in range(samples):
            get(reader.port, path, {"Origin": self.origin})  # the reader knows the thread as it was
            body = json.dumps({"site": services.SITE_KEY, "url": self.origin + PROPAGATION_PATH, "author": "Bench",
                               "text": f"Propagation {number} {time.time()}", "ticket": ticket}).encode()
            status, _, _ = get(writer.port, "/api/comments", headers, "POST", body)
            if status != 201:
                raise RuntimeError(f"posting for the propagation measure answered {status}")
            posted = time.perf_counter()
            while True:
                status, _, raw = get(reader.port, path, {"Origin": self.origin})
                if status == 200 and len(json.loads(raw)["comments"]) == number + 1:
                    break
                if time.perf_counter() - posted > 10:
                    raise RuntimeError("a comment posted on one instance was not seen on the other in 10 s")
            took.append((time.perf_counter() - posted) * 1000)
        return sorted(took)

    def measure_causerie(self, name: str, reader, writer, unlimited, etag: str, ticket: str | None, issued: float,
                         isso=None, ceiling=None, floor=None) -> None:
        """Each scenario at Isso, Causerie and the ceilings in turn, so all of them see the same machine.

        ``floor`` is the ceiling app that also runs Causerie's one lookup query
        on this database (information: what that query costs by itself).
        """
        scenarios = self.causerie_scenarios(etag, ticket)
        top = {"read": Scenario("GET", self.causerie_thread_path(), {"Origin": self.origin}),
               "304": Scenario("GET", self.causerie_thread_path(), {"Origin": self.origin, "If-None-Match": etag},
                               expect=304)}
        mine = self.results.setdefault(f"causerie_{name}", {})
        # Isso and the ceiling are measured again in each database's phase, in
        # the same rounds as the rows they are compared with: on a shared
        # virtual machine, speeds drift by a tenth within minutes.
        theirs = self.results.setdefault(f"isso_{name}", {})
        best = self.results.setdefault(f"ceiling_{name}", {})
        floors = self.results.setdefault(f"ceiling_query_{name}", {})
        plan = []  # (where the result goes, scenario name, label, scenario, server)
        for what in ("read", "304", "counts", "post"):
            if isso is not None and what != "304":
                plan.append((theirs, what, f"isso {what}", self.isso_scenarios()[what], isso))
            serving = writer if what == "post" else reader
            plan.append((mine, what, f"causerie ({name}) {what}", scenarios[what], serving))
            if ceiling is not None and what in top:
                plan.append((best, what, f"ceiling {what}", top[what], ceiling))
            if floor is not None and what in top:
                plan.append((floors, what, f"ceiling with the one query ({name}) {what}", top[what], floor))
            if floor is not None and what == "post":
                plan.append((floors, what, f"ceiling app's bare write transaction ({name}) post", scenarios[what],
                             floor))
        # Whole rounds, so that a server's runs are minutes apart: a slow spell
        # of the (virtual) machine then costs one run, not the row.  Every
        # server keeps its fastest run, Isso and the ceilings as much as Causerie.
        for number in range(1, self.args.rounds + 1):
            for results, what, label, scenario, server in plan:
                if what == "post":
                    # The load-time ticket must be older than the quickest a person could post.
                    time.sleep(max(0.0, 4 - (time.monotonic() - issued)))
                print(f"  {label}" + (f" (round {number})" if self.args.rounds > 1 else "") + " ...", flush=True)
                result = self.load(scenario, server)
                if what not in results or result.rps > results[what].rps:
                    results[what] = result
        for what in ("read", "304", "counts"):
            print(f"  causerie ({name}) {what}, rate limiting off ...", flush=True)
            mine[f"{what}_unlimited"] = self.load(scenarios[what], unlimited)
        print(f"  causerie ({name}) propagation from one instance to another ...", flush=True)
        mine["propagation_ms"] = self.propagation(reader, writer, ticket, issued)
        # The larger of the two servers' per-worker averages, taken right after
        # the load: the check below reads back the thousands of comments just
        # posted, a read Isso is never asked for.
        largest = max((reader, writer, unlimited), key=lambda server: _mean(server.worker_rss()))
        mine["rss"], mine["pss"] = largest.worker_rss(), largest.worker_pss()
        status, _, raw = get(writer.port, self.causerie_thread_path(POST_PATH), {"Origin": self.origin})
        mine["post_visible"] = len(json.loads(raw)["comments"]) if status == 200 else 0
        if isso is not None:
            theirs["304"] = theirs["read"]  # Isso sends no validator: a repeat view is a full read
            theirs["rss"], theirs["pss"] = isso.worker_rss(), isso.worker_pss()
        if ceiling is not None:
            best["rss"] = ceiling.worker_rss()

    def scale(self, causerie: services.Causerie, etag: str) -> dict:
        """Thread-read latency as the database grows around the same thread.

        The small database is kept aside (a copy) before the large one is
        filled, and both are then served at once and measured in turn, sample
        by sample for the cache misses and in whole rounds for the loads: on a
        shared virtual machine, speeds drift by a tenth within minutes, and
        measuring one size minutes after the other would show that drift as
        growth.

        Warm reads come from the per-process cache; cache misses are forced by
        advancing the thread's version out of band, so they show whether
        building the body gets slower as the database grows.
        """
        import sqlalchemy as sa  # noqa: PLC0415 - the project's venv has it

        sizes = [10_000, 100_000 if self.args.skip_1m else 1_000_000]
        small_file = self.workdir / "causerie-small.db"
        databases = {}
        for size in sizes:
            print(f"  filling the database to {size:,} comments ...", flush=True)
            print("  " + causerie.seed("fill", services.SITE_KEY, str(size)).strip().splitlines()[-1], flush=True)
            if size == sizes[0]:
                # SQLite's own copy, consistent whatever the WAL holds.
                large = sqlite3.connect(causerie.env["CAUSERIE_DATABASE_URL"].removeprefix("sqlite:///"))
                with sqlite3.connect(small_file) as small:
                    large.backup(small)
                large.close()
                databases[size] = services.Causerie(self.workdir, "sqlite-small", f"sqlite:///{small_file}",
                                                    self.origin, self.args.workers)
        databases[sizes[1]] = causerie
        path = self.causerie_thread_path()
        misses: dict[int, list[float]] = {size: [] for size in sizes}
        out: dict = {size: {} for size in sizes}
        with ExitStack() as stack:
            served = {}
            for size, database in databases.items():
                server = stack.enter_context(database.server())
                _, _, body = get(server.port, path, {"Origin": self.origin})
                engine = sa.create_engine(database.env["CAUSERIE_DATABASE_URL"])
                stack.callback(engine.dispose)
                served[size] = (server, engine, json.loads(body)["thread"]["id"])
            wait_until_quiet(patience=self.args.patience)
            etags = {}
            for _ in range(21):
                for size, (server, engine, thread_id) in served.items():
                    miss, etags[size] = self._cache_miss(server, engine, thread_id, path)
                    misses[size].append(miss)
            scenarios = {size: {
                "read": Scenario("GET", path, {"Origin": self.origin}),
                "304": Scenario("GET", path, {"Origin": self.origin, "If-None-Match": etags[size]}, expect=304),
                "counts": self.causerie_scenarios(etag, None)["counts"],
            } for size in sizes}
            for _ in range(self.args.rounds):
                for what in ("read", "304", "counts"):
                    for size, (server, _, _) in served.items():
                        result = self.load(scenarios[size][what], server,
                                           duration=max(2.0, self.args.duration / 2), connections=1)
                        if what not in out[size] or result.p50_ms < out[size][what].p50_ms:
                            out[size][what] = result
        for size in sizes:
            out[size]["miss_ms"] = sorted(misses[size])[len(misses[size]) // 2]
        return out

    def _cache_miss(self, server, engine, thread_id: int, path: str) -> tuple[float, str]:
        """Advance the thread's version out of band; the time of the first read
        that shows it, in ms, and that read's ETag."""
        import sqlalchemy as sa  # noqa: PLC0415 - the project's venv has it

        with engine.begin() as conn:
            version = conn.execute(sa.text(
                "UPDATE thread SET version = version + 1 WHERE id = :id RETURNING version"),
                {"id": thread_id}).scalar_one()
        # A worker hears of the change a moment later (PostgreSQL's
        # notification, SQLite's next look): the read that first shows this
        # version is the cache miss.  Not merely another ETag than the last
        # one seen: with several workers, one that has not looked yet still
        # answers an older version.
        shows = f'"{thread_id}-{version}-'
        while True:
            started = time.perf_counter()
            _, fresh, _ = get(server.port, path, {"Origin": self.origin})
            if fresh["etag"].startswith(shows):
                return (time.perf_counter() - started) * 1000, fresh["etag"]

    def widget_size(self, port: int) -> dict:
        """The widget as a browser gets it: gzip on the wire."""
        status, headers, raw = get(port, "/widget.js", {"Accept-Encoding": "gzip"})
        if status != 200:
            return {"error": f"GET /widget.js answered {status}"}
        on_wire = headers.get("content-encoding") == "gzip"
        size = len(raw) if on_wire else len(gzip.compress(raw, 9))
        return {"bytes": size, "served_gzip": on_wire, "cache_control": headers.get("cache-control", "")}

    def render(self, port: int) -> dict:
        import render  # noqa: PLC0415 - Playwright is only needed here

        print("  widget render in Chromium ...", flush=True)
        try:
            return render.measure(port, self.origin_port, dataset.BIG_THREAD, dataset.BIG_SIZE)
        except Exception as exc:  # noqa: BLE001 - a missing browser must not lose the other numbers
            return {"error": f"{type(exc).__name__}: {exc}"}

    def main(self) -> int:
        started = time.time()
        try:
            if not self.args.skip_isso:
                version = services.ensure_isso()
                self.results["isso_version"] = version
                embed = services.isso_package_dir() / "js" / "embed.min.js"
                self.results["isso_embed_gzip"] = len(gzip.compress(embed.read_bytes(), 9))
            print(f"Causerie (SQLite), Isso, ceiling: seeding and starting, {self.args.workers} workers each",
                  flush=True)
            sqlite = services.Causerie(self.workdir, "sqlite", f"sqlite:///{self.workdir / 'causerie.db'}",
                                       self.origin, self.args.workers)
            sqlite.setup()
            with ExitStack() as stack:
                isso = None
                if not self.args.skip_isso:
                    isso = stack.enter_context(services.isso_server(self.workdir, self.origin, self.args.workers))
                    status, _, raw = get(isso.port, self.isso_scenarios()["read"].path)
                    if status != 200 or json.loads(raw).get("total_replies") != dataset.BIG_SIZE:
                        raise RuntimeError(f"Isso's thread is not the seeded one: {status} {raw[:200]!r}")
                reader, writer, unlimited, body, etag, ticket, issued = self.start_causerie(stack, sqlite)
                ceiling = stack.enter_context(
                    services.ceiling_server(self.workdir, body, etag.strip('"'), self.args.workers))
                floor = stack.enter_context(services.ceiling_server(
                    self.workdir, body, etag.strip('"'), self.args.workers, sqlite.env["CAUSERIE_DATABASE_URL"]))
                self.results["widget_gzip"] = self.widget_size(reader.port)
                self.measure_causerie("sqlite", reader, writer, unlimited, etag, ticket, issued, isso, ceiling, floor)
                if not self.args.skip_render:
                    self.results["render"] = self.render(reader.port)
            self.results["scale_sqlite"] = self.scale(sqlite, etag)
            if not self.args.skip_postgres:
                if services.postgres_available():
                    print(f"Causerie (PostgreSQL): seeding and starting, {self.args.workers} workers", flush=True)
                    pg = services.Causerie(self.workdir, "postgresql", services.fresh_postgres_database(),
                                           self.origin, self.args.workers)
                    if services.redis_available():
                        # As deployed on several instances: the shared limits in Redis.
                        pg.env["CAUSERIE_RATELIMIT_STORAGE_URI"] = services.REDIS_URL
                        self.results["redis"] = True
                    else:
                        self.results["notes"].append(
                            "Redis not reachable on 127.0.0.1:6379: the PostgreSQL rows keep rate limits in memory.")
                    pg.setup()
                    with ExitStack() as stack:
                        # A fresh Isso, seeded alike, so that it starts where the fresh Causerie database does.
                        again = self.workdir / "postgresql-phase"
                        again.mkdir()
                        isso = None if self.args.skip_isso else stack.enter_context(
                            services.isso_server(again, self.origin, self.args.workers))
                        reader, writer, unlimited, body, etag, ticket, issued = self.start_causerie(stack, pg)
                        ceiling = stack.enter_context(
                            services.ceiling_server(again, body, etag.strip('"'), self.args.workers))
                        floor = stack.enter_context(services.ceiling_server(
                            self.workdir, body, etag.strip('"'), self.args.workers, pg.env["CAUSERIE_DATABASE_URL"]))
                        self.measure_causerie("postgresql", reader, writer, unlimited, etag, ticket, issued,
                                              isso, ceiling, floor)
                else:
                    self.results["notes"].append("PostgreSQL not reachable on 127.0.0.1:5432: SQLite only.")
        finally:
            if self.args.keep:
                print(f"kept {self.workdir}")
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
        self.results["elapsed"] = time.time() - started
        self.results["tool"] = "python" if self.args.python_loadgen or not loadgen.have_wrk() else "wrk"
        table, passed = report.build(self.results, self.args)
        print()
        print(table)
        report.write(self.args.results, table, self.args, self.results)
        print(f"\nwritten to {self.args.results}")
        return 0 if passed else 1


def _mean(values: list[int]) -> float:
    return sum(values) / max(1, len(values))


def _stop_on_term(signum, _frame):
    # Unwind normally, so every server started is stopped with its workers.
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_term)
    if args.nice:
        os.nice(args.nice)  # inherited by every server, seeder and load generator started from here
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    print(f"causerie bench on {platform.node()}: {args.workers} workers, {args.duration:g}s per run, "
          f"{args.connections} connections, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
          flush=True)
    return Bench(args).main()


if __name__ == "__main__":
    sys.exit(main())
