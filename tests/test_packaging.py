"""The wheel: one package, ``causerie``, carrying the widget, migrations,
templates and translations, working from any folder once installed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port, returned

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_subpackage_of_the_source_tree_is_in_the_wheel():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {"causerie" + "".join(f".{part}" for part in init.parent.relative_to(ROOT / "service").parts)
             for init in (ROOT / "service").rglob("__init__.py")}
    assert found <= listed


def test_the_package_never_imports_itself_or_the_source_trees_modules_by_name():
    # Installed, the package is "causerie": "service", "config" and "wsgi" do not exist there.
    absolute = re.compile(r"^\s*(from|import)\s+(service|config|wsgi)\b", re.MULTILINE)
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "service").rglob("*.py")
                 if absolute.search(path.read_text("utf-8"))]
    assert offenders == []


# What a build reads; copied first, as setuptools builds in the tree it is given.
SOURCES = ("pyproject.toml", "README.md", "service", "widget", "migrations")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tree, folder = tmp_path_factory.mktemp("tree"), tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tree / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder),
                    str(tree)], check=True, capture_output=True, timeout=600)
    [built] = folder.glob("causerie-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_installs_one_package_with_everything_it_reads(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"causerie", wheel.name.split("-py")[0] + ".dist-info"}
    for needed in ("causerie/settings.py", "causerie/_widget/causerie.js", "causerie/_widget/causerie.min.js",
                   "causerie/_widget/causerie.css",
                   "causerie/_widget/i18n/fr.json", "causerie/_widget/i18n/de.json",
                   "causerie/templates/embed/thread.html", "causerie/templates/moderation/email/followed.txt",
                   "causerie/translations/nl/LC_MESSAGES/messages.po",
                   "causerie/_migrations/env.py", "causerie/_migrations/alembic.ini",
                   "causerie/_migrations/script.py.mako", "causerie/templates/demo/article_fr.html",
                   "causerie/translations/fr/LC_MESSAGES/messages.po", "causerie/static/openapi.json",
                   "causerie/spam/data/youtube_spam.csv", "causerie/spam/data/prior.json"):
        assert needed in names
    revisions = {path.name for path in (ROOT / "migrations" / "versions").glob("*.py")}
    assert {name.rsplit("/", 1)[1] for name in names if name.startswith("causerie/_migrations/versions/")} == revisions


@pytest.mark.slow
def test_an_installed_wheel_runs_the_demo_from_another_folder(wheel, tmp_path):
    # A fresh environment holding the wheel; its dependencies are borrowed
    # from the test environment (a path in a .pth file, read after the
    # environment's own packages), so nothing is downloaded.
    fresh = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True, timeout=120)
    python = fresh / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    fresh_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                     check=True, capture_output=True, text=True).stdout.strip())
    (fresh_site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CAUSERIE_", "PYTHON", "FLASK_", "PROMETHEUS_"))}
    causerie = str(fresh / "bin" / "causerie")

    def run(*args):
        return subprocess.run([causerie, *args], cwd=elsewhere, env=env, capture_output=True, text=True,
                              timeout=120)

    init = run("init")
    assert init.returncode == 0, init.stderr
    # The instance folder of an installed package is in its environment, not in this folder.
    assert str(fresh / "var" / "causerie-instance") in init.stdout
    assert run("demo").returncode == 0
    port = free_port()
    server = subprocess.Popen([causerie, "run", "--port", str(port), "--workers", "1"], cwd=elsewhere, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pages = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(pages) < 3:
            assert server.poll() is None, server.stderr.read()
            try:
                for path in ("/widget.js", "/demo", "/demo/en"):
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                        pages[path] = (response.status, response.read())
            except OSError:
                time.sleep(0.3)
    finally:
        server.send_signal(signal.SIGTERM)
        if not returned(server.communicate, patience=30):
            server.kill()
    assert pages["/widget.js"][0] == 200 and b"causerie" in pages["/widget.js"][1]
    assert pages["/demo"][0] == 200 and "pièges".encode() in pages["/demo"][1]
    assert pages["/demo/en"][0] == 200
    assert not (elsewhere / "instance").exists()


def test_the_instance_folder_can_be_named_by_the_environment(tmp_path, monkeypatch):
    from service import create_app
    from service.server import instance_path

    monkeypatch.setenv("CAUSERIE_INSTANCE_PATH", str(tmp_path / "state"))
    monkeypatch.delenv("CAUSERIE_DATABASE_URL", raising=False)
    app = create_app()
    assert app.instance_path == str(tmp_path / "state") == str(instance_path())
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'state' / 'causerie.db'}"
