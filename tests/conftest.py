import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from projects.accounts.services import user_set_role
from projects.domain import workdays
from projects.domain.choices import Role, Stage
from projects.models import AnnualPlan, MonthlyReport, Programme, Project, Region, User
from projects.reference.data import reference_data_load
from projects.shared.editing import progress_refresh


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Reference data is loaded once for the whole run; every test then runs in its own transaction."""
    with django_db_blocker.unblock():
        reference_data_load()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _two_factor_not_required(settings):
    """Tests log in with force_login and a password alone; the two-factor tests turn the requirement on
    (issue 22). Whatever DEBUG the run has, it is off here."""
    settings.TWO_FACTOR_REQUIRED = False


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (local memory: a test that needs Redis starts its own; throttles and request limits count there too): what an earlier
    test cached was keyed by data versions its writes moved, and its rollback does not move them back (a renamed
    action would keep its new name in the next test's kept labels)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_workday_calendar():
    """Each test reads the calendar overrides afresh: rows a rolled-back test added must not linger in the
    process's cache (nor a cache filled by one test spare another its database access)."""
    workdays.clear_cache()
    yield
    workdays.clear_cache()


def region(code):
    return Region.objects.get(code=code)


def make_user(username, role, region_code):
    user = User.objects.create_user(
        username=username,
        password="correct-horse-battery-staple",
        region=region(region_code) if region_code else None,
        email=f"{username}@example.org",
        is_staff=True,
    )
    user_set_role(user=user, role=role)
    return User.objects.get(pk=user.pk)  # fresh, without cached permissions


def make_project(name, county_code=None, city_code=None, **fields):
    county = region(county_code) if county_code else None
    city = county.reporting_city if county else region(city_code)
    fields.setdefault("stage", Stage.CONTINUING)
    fields.setdefault("total_investment", Decimal("10000"))
    project = Project.objects.create(name=name, city=city, county=county, **fields)
    project.programmes.add(Programme.objects.get(code="provincial"))
    return project


# Two counties of 石家庄市 (正定县 and 桥西区) and one of 邢台市 (南宫市), so that "another region" is
# tested both inside the same city and across cities.
ZHENGDING, QIAOXI_SJZ, NANGONG = "130123", "130104", "130581"
SHIJIAZHUANG, XINGTAI, PROVINCE = "130100", "130500", "130000"


@pytest.fixture
def users(db):
    return {
        "province_admin": make_user("prov", Role.PROVINCE_ADMIN, PROVINCE),
        "leader": make_user("boss", Role.LEADER, PROVINCE),
        "city_coordinator": make_user("sjz", Role.CITY_COORDINATOR, SHIJIAZHUANG),
        "county_editor": make_user("zd", Role.COUNTY_EDITOR, ZHENGDING),
        "other_county_editor": make_user("ng", Role.COUNTY_EDITOR, NANGONG),
    }


@pytest.fixture
def projects(db):
    """One project in each of three counties, with a plan and a report for this year."""
    year = timezone.localdate().year
    made = {
        "zhengding": make_project("正定县智能装备产业园项目", ZHENGDING, code="2023-130123-26-03-00001A"),
        "qiaoxi": make_project("桥西区数据中心项目", QIAOXI_SJZ),
        "nangong": make_project("南宫市羊绒深加工项目", NANGONG),
    }
    for project in made.values():
        AnnualPlan.objects.create(project=project, year=year, planned_investment=Decimal("1200"))
        MonthlyReport.objects.create(
            project=project,
            month=datetime.date(year, 1, 1),
            completed_investment=Decimal("100"),
            image_progress="基础施工",
        )
    progress_refresh()
    return made


def pytest_sessionstart(session):
    """In CI the PostgreSQL run must really be on PostgreSQL, never silently on the SQLite default."""
    import os

    from django.db import connection

    wanted = os.environ.get("REQUIRE_DATABASE_VENDOR")
    if wanted and connection.vendor != wanted:
        raise pytest.UsageError(f"REQUIRE_DATABASE_VENDOR={wanted} but the tests would run on {connection.vendor}")


@pytest.fixture
def mail_server(settings):
    """Route the app's mail to a real SMTP server running in this process."""
    from .mailserver import MailServer

    with MailServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        yield server
