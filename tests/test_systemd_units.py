"""deploy/systemd: units systemd accepts, running commands the CLI accepts."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import COMMANDS
from service.server import run_command
from tests.servers import ROOT

UNITS = sorted((ROOT / "deploy" / "systemd").glob("causerie*"))
CAUSERIE = Path(sys.executable).with_name("causerie")
BY_NAME = {command.name: command for command in (*COMMANDS, run_command)}


def commands(unit: Path) -> list[list[str]]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(unit)
    if not parser.has_section("Service"):
        return []
    return [shlex.split(value) for key, value in parser["Service"].items() if key.startswith("ExecStart")]


def test_the_web_worker_and_purge_have_units():
    names = {unit.name for unit in UNITS}
    assert {"causerie.service", "causerie-worker.service", "causerie-purge.service", "causerie-purge.timer"} <= names


@pytest.mark.parametrize("unit", [unit for unit in UNITS if unit.suffix == ".service"], ids=lambda unit: unit.name)
def test_each_unit_runs_a_causerie_command_with_options_it_has(unit):
    found = commands(unit)
    assert found
    for command in found:
        assert command[0] == "/opt/causerie/bin/causerie"
        name, *args = command[1:]
        # Parsing is enough: a misspelt command or option fails here.
        BY_NAME[name].make_context(name, args)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path):
    for unit in UNITS:
        # Installed here rather than in /opt, and as whoever runs the suite.
        text = unit.read_text().replace("/opt/causerie/bin/causerie", str(CAUSERIE))
        text = text.replace("User=causerie", "User=root").replace("Group=causerie", "Group=root")
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
