"""A county editor in a real browser (Debian Chromium driven by Playwright).

Runs when Chromium is installed, and must run when BROWSER_TEST=1 (.ci/run sets it): then a missing
browser fails instead of skipping. The dashboard screenshot is written to test-output/.
"""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from projects.domain import rules
from projects.domain.choices import Role
from projects.models import AnnualPlan
from projects.reference.data import reference_data_load

from .conftest import make_project, make_user

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"

pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("BROWSER_TEST") == "1":
            pytest.fail(f"BROWSER_TEST=1 but {CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


@pytest.fixture
def county_data(transactional_db):
    reference_data_load()  # a live-server test starts from an empty database
    user = make_user("zd-browser", Role.COUNTY_EDITOR, "130123")
    user.set_password("browser-test-password")
    user.save()
    year = rules.today().year
    projects = [make_project(name, "130123") for name in ("正定县智能装备产业园项目", "正定县数据中心项目")]
    other = make_project("南宫市羊绒深加工项目", "130581")
    for project in projects + [other]:
        AnnualPlan.objects.create(project=project, year=year, planned_investment=Decimal("20000"))
    yield user, projects, other
    reference_data_load()  # the flush after this test removed it; later tests expect it


def kpi(page, name):
    return Decimal(page.locator(f'[data-kpi="{name}"]').inner_text().replace(",", ""))


def test_county_editor_reports_and_sees_the_dashboard_change(county_data, live_server, browser):
    # Data first: once Playwright runs its event loop in this thread, Django refuses ORM calls here.
    user, projects, other = county_data
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "browser-test-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/inbox/")  # a county editor lands on their 待办 (issue 26)
    assert page.locator("h1").inner_text().startswith("待办")
    page.goto(f"{live_server.url}/")
    assert page.locator("h1").inner_text().startswith("驾驶舱")

    # Only their county's projects.
    page.goto(f"{live_server.url}/projects/")
    listed = page.locator("table.list td.name > a").all_inner_texts()
    assert sorted(listed) == sorted(p.name for p in projects)
    assert other.name not in page.content()

    page.goto(f"{live_server.url}/")
    assert kpi(page, "count") == 2
    completed_before = kpi(page, "completed")

    # The month's report for one project: 5,000 万元 = 0.50 亿元.
    month = rules.today().strftime("%Y-%m")
    page.goto(f"{live_server.url}/reports/?month={month}")
    row = page.locator(f'tr[data-project="{projects[0].pk}"]')
    row.locator("input[name$='-completed']").fill("5000")
    row.locator("input[name$='-progress']").fill("主体结构封顶")
    page.click("button.primary")
    page.wait_for_load_state()
    assert re.search("已保存 1 个项目", page.content())

    page.goto(f"{live_server.url}/")
    assert kpi(page, "completed") == completed_before + Decimal("0.50")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)
    assert (OUTPUT / "dashboard.png").stat().st_size > 10_000
