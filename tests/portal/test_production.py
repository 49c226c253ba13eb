"""Production settings: chosen by every server entry point, refusing to start without keys.

Each test starts a fresh interpreter with an environment a new server would
have: no DJANGO_SETTINGS_MODULE, none of the test run's variables.
"""

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from django.conf import settings

# Variables of the test run (or of a developer's shell) a new server lacks.
NOT_INHERITED = {
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "PORTAL_CREDENTIALS_KEY",
    "PORTAL_CREDENTIALS_KEY_FALLBACKS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by pytest-playwright for the browser tests
}
PRINT_SETTINGS = (
    "import json; from django.conf import settings; print(json.dumps({"
    "'module': settings.SETTINGS_MODULE, 'debug': settings.DEBUG, "
    "'session_cookie_secure': settings.SESSION_COOKIE_SECURE, "
    "'csrf_cookie_secure': settings.CSRF_COOKIE_SECURE, "
    "'hsts': settings.SECURE_HSTS_SECONDS, "
    "'proxy_ssl_header': settings.SECURE_PROXY_SSL_HEADER}))"
)


def production_keys() -> dict[str, str]:
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "PORTAL_CREDENTIALS_KEY": Fernet.generate_key().decode(),
    }


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return subprocess.run(
        args,
        cwd=settings.BASE_DIR,
        env=clean | {"PORTAL_VAR_DIR": str(tmp_path)} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-c", code], tmp_path, **env)


@pytest.mark.parametrize("entry", ["portal.wsgi", "portal.celery"])
def test_server_entry_point_refuses_to_start_without_keys(entry, tmp_path):
    started = python(f"import {entry}; {PRINT_SETTINGS}", tmp_path)

    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert "portal.settings.production" in started.stderr
    assert "DJANGO_SECRET_KEY is not set" in started.stderr
    assert "PORTAL_CREDENTIALS_KEY is not set" in started.stderr
    assert started.stdout == ""


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "PORTAL_CREDENTIALS_KEY"])
def test_wsgi_refuses_with_one_key_missing(missing, tmp_path):
    keys = production_keys()
    del keys[missing]

    started = python("import portal.wsgi", tmp_path, **keys)

    assert started.returncode != 0
    assert f"{missing} is not set" in started.stderr
    assert len(started.stderr.split(" is not set")) == 2  # only the missing one


def test_wsgi_refuses_a_credentials_key_that_is_not_a_fernet_key(tmp_path):
    keys = production_keys() | {"PORTAL_CREDENTIALS_KEY": "correct horse battery"}

    started = python("import portal.wsgi", tmp_path, **keys)

    assert started.returncode != 0
    assert "PORTAL_CREDENTIALS_KEY holds a value that is not a Fernet key" in (
        started.stderr
    )


@pytest.mark.parametrize("entry", ["portal.wsgi", "portal.celery"])
def test_server_entry_point_runs_production_with_debug_off(entry, tmp_path):
    started = python(
        f"import {entry}; import django; django.setup(); {PRINT_SETTINGS}",
        tmp_path,
        DJANGO_DEBUG="1",  # a development habit left in the environment
        **production_keys(),
    )

    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout) == {
        "module": "portal.settings.production",
        "debug": False,
        "session_cookie_secure": True,
        "csrf_cookie_secure": True,
        "hsts": 365 * 24 * 3600,
        "proxy_ssl_header": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_celery_command_finds_the_portal_app_on_production_settings(tmp_path):
    # `celery -A portal` imports the package, then portal.celery.
    code = (
        "import os; from celery.app.utils import find_app; app = find_app('portal'); "
        "print(app.main, os.environ['DJANGO_SETTINGS_MODULE'])"
    )

    started = python(code, tmp_path, **production_keys())

    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["portal", "portal.settings.production"]


def test_manage_py_keeps_development_settings_on_a_fresh_clone(tmp_path):
    code = "from django.conf import settings; print(settings.SETTINGS_MODULE)"

    started = run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code], tmp_path
    )

    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "portal.settings.local"


def test_check_deploy_on_production_settings_prints_no_warning(tmp_path):
    checked = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level=WARNING"]
        + ["--settings=portal.settings.production"],
        tmp_path,
        **production_keys(),
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == "System check identified no issues (0 silenced).\n"
    assert checked.stderr == ""


def test_gunicorn_serves_production_over_https_only(tmp_path):
    keys = production_keys()
    collected = run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        tmp_path,
        DJANGO_SETTINGS_MODULE="portal.settings.production",
        **keys,
    )
    assert collected.returncode == 0, collected.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [gunicorn, "portal.wsgi", f"--bind=127.0.0.1:{port}", "--workers=1"],
        cwd=settings.BASE_DIR,
        env=clean | {"PORTAL_VAR_DIR": str(tmp_path)} | keys,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        behind_proxy = get(port, "/login/", **{"X-Forwarded-Proto": "https"})
        plain = get(port, "/login/")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    status, headers, body = behind_proxy
    assert status == 200
    assert "Log in" in body
    assert "max-age=31536000" in headers["Strict-Transport-Security"]
    assert "Secure" in headers["Set-Cookie"]
    status, headers, _ = plain
    assert status == 301
    assert headers["Location"] == f"https://127.0.0.1:{port}/login/"


def get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
    """GET from a server that is starting: connection refusals are retried for a minute."""
    deadline = time.monotonic() + 60
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.headers), response.read().decode()
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
