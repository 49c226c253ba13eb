"""deploy/docker-compose.yml and deploy/Dockerfile: the layout they start runs real commands.

Docker cannot pull images on the machines the tests run on, so the layout is
checked, not run: every portal service on the production settings, a worker
per queue the settings route tasks to, one beat, and commands that exist.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from django.conf import settings
from django.core.management import get_commands

from messaging.throughput import PRIORITY_QUEUE
from tests.conftest import need

DEPLOY = Path(settings.BASE_DIR) / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
SERVICES = {"postgres", "redis", "migrate", "web", "beat"} | {
    "worker-dispatch",
    "worker-dispatch-priority",
    "worker-status",
    "worker-default",
}
# What deploy/.env must hold (deploy/env.example lists them).
REQUIRED = {
    "DJANGO_SECRET_KEY": "s" * 50,
    "PORTAL_CREDENTIALS_KEY": "k",
    "DJANGO_ALLOWED_HOSTS": "sms.example.org",
    "PORTAL_PUBLIC_URL": "https://sms.example.org",
    "POSTGRES_PASSWORD": "p",
    "DATABASE_URL": "postgres://portal:p@postgres:5432/portal",
}


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def portal_services(services: dict[str, dict]) -> dict[str, dict]:
    return {name: s for name, s in services.items() if "build" in s}


def celery(service: dict) -> list[str] | None:
    """The arguments after `celery -A portal`, or None for another command."""
    command = service.get("command", [])
    if command[:3] != ["celery", "-A", "portal"]:
        return None
    return command[3:]


def test_compose_starts_the_production_layout(services):
    assert set(services) == SERVICES
    assert set(portal_services(services)) == SERVICES - {"postgres", "redis"}
    for name, service in portal_services(services).items():
        environment = service["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "portal.settings.production"
        assert environment["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
        assert environment["PORTAL_CREDENTIALS_KEY"].startswith(
            "${PORTAL_CREDENTIALS_KEY:?"
        ), name


def test_compose_runs_one_worker_per_routed_queue(services):
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    # Replies and one-off messages are published to their own queue by name.
    queues = routed | {settings.CELERY_TASK_DEFAULT_QUEUE, PRIORITY_QUEUE}
    workers = {}
    for name, service in services.items():
        arguments = celery(service)
        if arguments and arguments[0] == "worker":
            assert "--beat" not in arguments and "-B" not in arguments, name
            (queue,) = [
                a.split("=", 1)[1] for a in arguments if a.startswith("--queues=")
            ]
            workers[name] = queue

    assert workers == {f"worker-{queue}": queue for queue in queues}


def test_compose_runs_beat_exactly_once(services):
    beats = [name for name, s in services.items() if (celery(s) or [""])[0] == "beat"]

    assert beats == ["beat"]
    assert "deploy" not in services["beat"]  # no replicas


def test_compose_commands_exist(services):
    web = services["web"]["command"]
    assert web[:2] == ["gunicorn", "portal.wsgi"]
    assert (Path(settings.BASE_DIR) / "portal" / "wsgi.py").exists()
    assert shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    manage = services["migrate"]["command"]
    assert manage[:2] == ["python", "manage.py"] and manage[2] in get_commands()
    # the image's default command is the web's
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    assert yaml.safe_load(cmd.removeprefix("CMD ")) == web
    assert "manage.py collectstatic --noinput" in dockerfile


def test_celery_finds_the_app_the_compose_commands_name(services):
    from celery.app.utils import find_app

    from portal.celery import app

    assert find_app("portal") is app


def compose_command() -> list[str]:
    if shutil.which("docker") and (
        subprocess.run(["docker", "compose", "version"], capture_output=True).returncode
        == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    need(
        False,
        "needs `docker compose` or `docker-compose` (apt-get install docker-compose)",
    )


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    return subprocess.run(
        [*compose_command(), "--file", str(COMPOSE), "config", "--quiet"],
        cwd=DEPLOY,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_is_valid():
    checked = compose_config(REQUIRED)

    assert checked.returncode == 0, checked.stderr


def test_compose_refuses_to_start_without_the_keys():
    env = dict(REQUIRED)
    del env["PORTAL_CREDENTIALS_KEY"]

    checked = compose_config(env)

    assert checked.returncode != 0
    assert "set PORTAL_CREDENTIALS_KEY in deploy/.env" in checked.stderr


def test_env_example_names_every_required_variable():
    example = (DEPLOY / "env.example").read_text()
    named = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line}

    assert set(REQUIRED) <= {n for n in named if not n.startswith("#")}
