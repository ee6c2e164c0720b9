"""The Dockerfile and compose.yaml hold what the operations section promises. (No container
engine runs where these tests run: the files are read, not built.)"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in lines if line and not line.startswith("#")]


def test_slim_python_311_non_root_data_volume_and_database_there():
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    users = [args for name, args in steps if name == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("VOLUME", "/data") in steps
    env = " ".join(args for name, args in steps if name == "ENV")
    assert "DATABASE_PATH=/data/perpwatch.db" in env
    run = " ".join(args for name, args in steps if name == "RUN")
    assert "useradd" in run and users[-1] in run and "chown" in run and "/data" in run


def test_healthcheck_probes_healthz_and_the_command_runs_the_bot():
    steps = dict(instructions())
    health = steps["HEALTHCHECK"]
    assert '"python", "-m", "bot", "healthcheck"' in health       # GET /healthz on $PORT
    assert "/healthz" in (ROOT / "bot" / "__main__.py").read_text()
    assert steps["CMD"] == '["python", "-m", "bot"]'


def test_the_image_holds_every_package_the_bot_imports():
    copied = {shlex.split(args)[0].rstrip("/") for name, args in instructions()
              if name == "COPY"}
    assert "requirements.txt" in copied
    local = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    imported = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("core/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
    assert imported & local <= copied, imported & local - copied
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not set(ignored) & (copied | {"requirements.txt"})


def test_compose_keeps_the_database_on_a_named_volume():
    text = (ROOT / "compose.yaml").read_text()
    assert re.search(r"^\s+- perpwatch-data:/data$", text, re.M)
    assert re.search(r"^volumes:\n  perpwatch-data:", text, re.M)
    assert "DATABASE_PATH: /data/perpwatch.db" in text
    assert "env_file: .env" in text and "stop_grace_period: 15s" in text
