"""Instructions per request: the read path's cost without the noise of a shared machine.

    .venv/bin/python bench/instructions.py [--requests 200] [--limits on|off] [--postgres] [read 304 ...]

Wall-clock rates on a virtual machine move by ten per cent or more from one
minute to the next, which hides the effect of most single changes.  This
counts the instructions Python executes per request instead (valgrind's
cachegrind, the same count for the same code and data every time): each
scenario runs in a child process that calls the WSGI app directly, once
with 100 requests and once with 100 + N, and the difference is divided by N,
so start-up and warm-up cancel out.  No HTTP server and no socket take part:
these are the numbers of the code a change touches, beside the in-memory
ceiling app's for the same request.  The benchmark (run.py) remains the
judge of the targets.

Needs valgrind (``apt-get install -y valgrind``).  About three minutes.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dataset
import services

ORIGIN = "http://127.0.0.1:9"
WARM = 100
SCENARIOS = ("read", "304", "counts", "post")
CEILING_SCENARIOS = ("read", "304")


def _environ(case: str, etag: str | None, ticket: str | None, number: int) -> dict:
    from werkzeug.test import EnvironBuilder  # noqa: PLC0415 - the child's import, under valgrind

    page = ORIGIN + dataset.BIG_THREAD
    headers = {"Origin": ORIGIN}
    if case == "post":
        body = json.dumps({"site": services.SITE_KEY, "url": ORIGIN + "/posts/instructions/", "author": "Bench",
                           "email": "reader@example.org", "text": f"A *counted* comment, number {number}.",
                           "ticket": ticket})
        return EnvironBuilder(path="/api/comments", method="POST", data=body, content_type="application/json",
                              headers=headers).get_environ()
    if case == "counts":
        pages = [page] + [ORIGIN + dataset.small_thread_path(n) for n in range(1, 20)]
        query = [("site", services.SITE_KEY)] + [("url", p) for p in pages]
        return EnvironBuilder(path="/api/counts", query_string=query, headers=headers).get_environ()
    if case == "304":
        headers["If-None-Match"] = f'"{etag}"'
    return EnvironBuilder(path="/api/threads", query_string={"site": services.SITE_KEY, "url": page},
                          headers=headers).get_environ()


def child(app_name: str, case: str, requests: int, etag: str, ticket: str) -> None:
    """Run in the child: WARM + ``requests`` calls of one scenario against one app."""
    if app_name == "ceiling":
        from ceiling_app import app  # noqa: PLC0415
    else:
        sys.path.insert(0, str(services.ROOT))
        from wsgi import app  # noqa: PLC0415
    environs = [_environ(case, etag, ticket, number) for number in range(WARM + requests)]

    def start_response(status, _headers, _exc=None):
        if not status.startswith(("200", "201", "304")):
            raise SystemExit(f"{app_name} {case}: {status}")

    for environ in environs:
        b"".join(app(environ, start_response))


def count(app_name: str, case: str, requests: int, env: dict, etag: str, ticket: str) -> int:
    """Instructions of a child run (cachegrind's 'I refs')."""
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
               services.project_python(), __file__, "--child", app_name, case, str(requests), etag, ticket]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=services.BENCH, timeout=900)
    match = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"{app_name} {case} failed:\n{done.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def per_request(app_name: str, case: str, requests: int, env: dict, etag: str, ticket: str) -> float:
    return (count(app_name, case, requests, env, etag, ticket) - count(app_name, case, 0, env, etag, ticket)) / requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="measured requests per scenario (default 200)")
    parser.add_argument("--limits", choices=("on", "off"), default="on",
                        help="rate limiting on reads and counts: on as deployed (the default; limits too high to "
                             "refuse), or off")
    parser.add_argument("--postgres", action="store_true",
                        help="Causerie on PostgreSQL (127.0.0.1:5432, its own benchmark database) with rate limits "
                             "in Redis (127.0.0.1:6379) instead of SQLite and memory; the count is the service "
                             "process's, not the database's or Redis's")
    parser.add_argument("--no-ceiling", action="store_true",
                        help="leave out the ceiling app (its count does not depend on Causerie's code)")
    parser.add_argument("scenarios", nargs="*", help=f"the scenarios to count, of {', '.join(SCENARIOS)} (default all)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        app_name, case, requests, etag, ticket = options.child
        child(app_name, case, int(requests), etag, ticket)
        return 0
    unknown = set(options.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}: choose among {', '.join(SCENARIOS)}")
    if shutil.which("valgrind") is None:
        print("valgrind is missing: apt-get install -y valgrind", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="causerie-instructions-"))
    try:
        if options.postgres:
            causerie = services.Causerie(workdir, "postgresql", services.fresh_postgres_database(), ORIGIN, 1)
            causerie.env["CAUSERIE_RATELIMIT_STORAGE_URI"] = services.REDIS_URL
        else:
            causerie = services.Causerie(workdir, "sqlite", f"sqlite:///{workdir / 'causerie.db'}", ORIGIN, 1)
        causerie.setup()
        body, etag, ticket = _first_read(causerie.env)
        (workdir / "body.json").write_bytes(body)
        # Reads with limits on (as deployed, too high to refuse) or off;
        # posting with limits on, and no wait for the load-time ticket to age.
        reads = {**causerie.env, "CAUSERIE_RATELIMIT_ENABLED": "true" if options.limits == "on" else "false"}
        posts = {**causerie.env, "CAUSERIE_MIN_SUBMIT_SECONDS": "0"}
        ceiling = {**reads, "BENCH_CEILING_BODY": str(workdir / "body.json"), "BENCH_CEILING_ETAG": etag}
        print(f"instructions per request, {options.requests} requests after {WARM} to warm up, "
              f"{causerie.name}, read limits {options.limits}\n")
        print("| scenario | Causerie | ceiling | Causerie ÷ ceiling |\n|---|---|---|---|")
        for case in options.scenarios or SCENARIOS:
            mine = per_request("causerie", case, options.requests, posts if case == "post" else reads, etag, ticket)
            best = per_request("ceiling", case, options.requests, ceiling, etag, ticket) \
                if case in CEILING_SCENARIOS and not options.no_ceiling else None
            ratio = f"{mine / best:.2f}×" if best else ""
            print(f"| {case} | {mine:,.0f} | {f'{best:,.0f}' if best else ''} | {ratio} |", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _first_read(env: dict) -> tuple[bytes, str, str]:
    """Causerie's thread body, ETag and a ticket, read once in a process of its own."""
    script = (
        "import json, sys\n"
        "from werkzeug.test import Client\n"
        "from wsgi import app\n"
        f"r = Client(app).get('/api/threads', query_string={{'site': {services.SITE_KEY!r}, "
        f"'url': {ORIGIN + dataset.BIG_THREAD!r}}}, headers={{'Origin': {ORIGIN!r}}})\n"
        "sys.stdout.write(json.dumps({'etag': r.headers['ETag'].strip('\"'), 'ticket': r.headers['Causerie-Ticket'],"
        " 'body': r.get_data(as_text=True)}))\n"
    )
    done = subprocess.run([services.project_python(), "-c", script], env=env, cwd=services.ROOT,
                          capture_output=True, text=True, check=True)
    answer = json.loads(done.stdout)
    return answer["body"].encode(), answer["etag"], answer["ticket"]


if __name__ == "__main__":
    sys.exit(main())
