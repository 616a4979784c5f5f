"""The three servers the benchmark compares, set up with the same data.

* Isso, from PyPI, in its own virtual environment (``bench/.isso-venv``);
* Causerie, from this working tree, on SQLite or PostgreSQL;
* the in-memory ceiling (``ceiling_app.py``), serving Causerie's own bytes.

All of them run under gunicorn with the same number of sync workers and
listen on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from procs import Gunicorn

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
ISSO_VENV = BENCH / ".isso-venv"
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"
SITE_KEY = "bench"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# BENCH_PG_DATABASE names another, for two runs at once (one counting
# instructions while another measures, say).
PG_BENCH_DB = os.environ.get("BENCH_PG_DATABASE", "causerie_bench")
# Rate limits of the PostgreSQL rows, as deployed: a database of Redis's own.
REDIS_URL = "redis://127.0.0.1:6379/9"

# High enough never to refuse a benchmark request, while flask-limiter still
# counts every request (the bookkeeping is part of what is measured).
HIGH_LIMITS = {
    "CAUSERIE_RATELIMIT_ENABLED": "true",
    "CAUSERIE_RATELIMIT_POST": "10000000/minute",
    "CAUSERIE_RATELIMIT_SITE_POST": "10000000/minute",
    "CAUSERIE_RATELIMIT_READ": "10000000/minute",
    "CAUSERIE_RATELIMIT_EDIT": "10000000/minute",
    "CAUSERIE_RATELIMIT_REPORT": "10000000/minute",
}


def project_python() -> str:
    """The project's interpreter (the one with Flask, gunicorn and Causerie's deps)."""
    return str(PROJECT_PYTHON if PROJECT_PYTHON.exists() else Path(sys.executable))


def _run(command: list[str], **kwargs) -> str:
    proc = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


# --------------------------------------------------------------------- Isso

def ensure_isso() -> str:
    """Install Isso and gunicorn into bench/.isso-venv if missing; return Isso's version."""
    python = ISSO_VENV / "bin" / "python"
    if not (ISSO_VENV / "bin" / "gunicorn").exists():
        print("installing Isso into bench/.isso-venv ...", flush=True)
        base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
        _run([base, "-m", "venv", str(ISSO_VENV)])
        _run([str(python), "-m", "pip", "install", "--quiet", "isso", "gunicorn"])
    return _run([str(python), "-c", "import isso; print(isso.__version__)"]).strip()


def isso_package_dir() -> Path:
    out = _run([str(ISSO_VENV / "bin" / "python"), "-c", "import isso, os; print(os.path.dirname(isso.__file__))"])
    return Path(out.strip())


def isso_server(workdir: Path, origin: str, workers: int) -> Gunicorn:
    """Isso configured for the benchmark, seeded, not yet started.

    Moderation is off (comments publish at once, like Causerie's ``post``
    mode) and so is Isso's guard: its rate limit allows two posts a minute
    per address, which would refuse the posting benchmark outright.
    """
    home = workdir / "isso"
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "isso.cfg"
    cfg.write_text(
        "[general]\n"
        f"dbpath = {home / 'comments.db'}\n"
        f"host = {origin}\n"
        "notify = stdout\n"
        "[moderation]\nenabled = false\n"
        "[guard]\nenabled = false\n"
        "[server]\nlisten = http://127.0.0.1:0\n"
    )
    env = {**_clean_env(), "ISSO_SETTINGS": str(cfg)}
    _run([str(ISSO_VENV / "bin" / "python"), str(BENCH / "seed_isso.py")], env=env)
    return Gunicorn("isso", ISSO_VENV / "bin" / "gunicorn", "isso.run:application", workers, home, env, workdir,
                    ready_path="/config")


def _clean_env() -> dict:
    """The caller's environment without anything of Causerie's or a venv's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAUSERIE_", "VIRTUAL_ENV", "PYTHON"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# ----------------------------------------------------------------- Causerie

def postgres_available() -> bool:
    """Whether a PostgreSQL server answers on 127.0.0.1:5432 as user postgres."""
    try:
        _run([project_python(), "-c",
              "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres',"
              " connect_timeout=3).close()"], timeout=15)
        return True
    except (RuntimeError, subprocess.TimeoutExpired):
        return False


def redis_available() -> bool:
    """Whether Redis answers on 127.0.0.1:6379 (it holds the PostgreSQL rows' rate limits)."""
    try:
        _run([project_python(), "-c", f"import redis; redis.Redis.from_url({REDIS_URL!r}, socket_timeout=3).ping()"],
             timeout=15)
        return True
    except (RuntimeError, subprocess.TimeoutExpired):
        return False


def fresh_postgres_database() -> str:
    """Drop and re-create the benchmark's own database (never the test suite's)."""
    _run([project_python(), "-c",
          "import psycopg\n"
          "with psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres', autocommit=True) as c:\n"
          f"    c.execute('DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)')\n"
          f"    c.execute('CREATE DATABASE {PG_BENCH_DB}')\n"], timeout=60)
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"


class Causerie:
    """Causerie from this working tree, with its own database and settings."""

    def __init__(self, workdir: Path, name: str, database_url: str, origin: str, workers: int):
        self.workdir = workdir
        self.name = name
        self.origin = origin
        self.workers = workers
        instance = workdir / f"{name}-instance"
        instance.mkdir(parents=True, exist_ok=True)
        self.env = {
            **_clean_env(),
            "CAUSERIE_DATABASE_URL": database_url,
            "CAUSERIE_SECRET_KEY": "benchmark-secret-key-not-for-production",
            "CAUSERIE_PUBLIC_URL": "http://127.0.0.1",
            **HIGH_LIMITS,
        }

    def cli(self, *args: str) -> str:
        return _run([project_python(), "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=self.env)

    def setup(self) -> None:
        """``causerie init``, the site (publishing at once), and the benchmark threads."""
        self.cli("init")
        self.cli("sites", "add", SITE_KEY, "--origin", self.origin, "--mode", "post", "--name", "Benchmark")
        print("  " + self.seed("seed", SITE_KEY, self.origin).strip().splitlines()[-1], flush=True)

    def seed(self, *args: str) -> str:
        return _run([project_python(), str(BENCH / "seed_causerie.py"), *args], cwd=ROOT, env=self.env,
                    timeout=3600)

    def server(self, **extra_env: str) -> Gunicorn:
        gunicorn = Path(project_python()).parent / "gunicorn"
        return Gunicorn(f"causerie-{self.name}", gunicorn, "wsgi:app", self.workers, ROOT,
                        {**self.env, **extra_env}, self.workdir, ready_path="/healthz")


def ceiling_server(workdir: Path, body: bytes, etag: str, workers: int, database_url: str | None = None) -> Gunicorn:
    """The tiny in-memory Flask app, serving ``body`` with ``etag``; with
    ``database_url`` (Causerie's), it also runs Causerie's thread lookup on
    that database for every request."""
    body_file = workdir / "ceiling-body.json"
    body_file.write_bytes(body)
    env = {**_clean_env(), "BENCH_CEILING_BODY": str(body_file), "BENCH_CEILING_ETAG": etag}
    name = "ceiling"
    if database_url:
        name = "ceiling-query"
        # The driver's own URL: no SQLAlchemy dialect name.
        env["BENCH_CEILING_DATABASE"] = (database_url.removeprefix("sqlite:///")
                                         .replace("postgresql+psycopg://", "postgresql://"))
    gunicorn = Path(project_python()).parent / "gunicorn"
    return Gunicorn(name, gunicorn, "ceiling_app:app", workers, BENCH, env, workdir,
                    ready_path=f"/api/threads?site={SITE_KEY}")
