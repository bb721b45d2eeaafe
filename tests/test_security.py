"""Login hardening and production settings."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from projects.domain.choices import Role

from .conftest import make_user

ROOT = Path(__file__).resolve().parent.parent


def login(client, username, password, address):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def test_lockout_is_per_username_and_address(db, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("clerk", Role.COUNTY_EDITOR, "130123")
    make_user("colleague", Role.COUNTY_EDITOR, "130123")
    office, elsewhere = "10.0.0.7", "10.9.9.9"
    client = Client()
    for _attempt in range(2):
        assert login(client, "clerk", "wrong-password-123", office).status_code == 200
    assert login(client, "clerk", "wrong-password-123", office).status_code == 429  # the third failure locks
    # Locked out at the office address, even with the right password...
    assert login(client, "clerk", "correct-horse-battery-staple", office).status_code == 429
    # ...but a colleague behind the same address logs in, and so does the clerk from elsewhere.
    assert login(Client(), "colleague", "correct-horse-battery-staple", office).status_code == 302
    assert login(Client(), "clerk", "correct-horse-battery-staple", elsewhere).status_code == 302


def test_passwords_need_twelve_characters(db):
    with pytest.raises(ValidationError):
        validate_password("Short-pw-1!")
    validate_password("a-long-enough-passphrase")


def session_row(client):
    return Session.objects.get(session_key=client.session.session_key)


def session_writes(client, path):
    """The SQL that writes the session table while `client` opens `path`."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return [q["sql"] for q in queries if "django_session" in q["sql"] and not q["sql"].lstrip().startswith("SELECT")]


def test_sessions_end_after_a_working_day_idle_and_a_page_renews_them_at_most_once_a_minute(users, settings):
    """Each page used to write its session (its idle end moved on by every request): a write, a commit and a
    row lock per page for every user. A page renews it only when the last renewal is older than
    SESSION_RENEW_SECONDS; an idle session still ends SESSION_COOKIE_AGE after its last renewal."""
    assert settings.SESSION_COOKIE_AGE <= 9 * 3600
    client = Client()
    client.force_login(users["county_editor"])
    path = reverse("project_list")
    assert session_writes(client, path) == []  # just logged in: nothing to renew
    assert session_writes(client, path) == []

    # Last renewed two minutes ago: this page moves the idle end on, in the database and in the cookie.
    age = datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + age - datetime.timedelta(seconds=120))
    response = client.get(path)
    assert response.status_code == 200
    assert session_row(client).expire_date > timezone.now() + age - datetime.timedelta(seconds=5)
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE
    assert session_writes(client, path) == []  # and not again within the minute

    # Idle past its end: the session is over.
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get(path).status_code == 302


def run_manage(*args, env):
    clean = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secret_key_and_hosts():
    result = run_manage("check", env={"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "ALLOWED_HOSTS" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "x" * 30 + "a-real-looking-secret-key-for-the-check-" + "y" * 20,
        "ALLOWED_HOSTS": "projects.example.org",
    }
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_english_is_available(db):
    user = make_user("en-user", Role.LEADER, "130000")
    client = Client()
    client.force_login(user)
    # Chinese by default, even for a browser that asks for English...
    chinese = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en-US,en").content.decode()
    assert "重点项目" in chinese and "Key projects" not in chinese
    # ...and English once the user picks it.
    client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
    english = client.get(reverse("admin:index")).content.decode()
    assert "Key projects" in english
