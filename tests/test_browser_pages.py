"""Every page a user reaches from the navigation, in Chromium, for the three scopes (province, city,
county) × 1,400 px and a 390 px phone × Chinese and English: no page wider than its window, every column
of the project list on screen at 1,400 px, no interface English in Chinese mode. Screenshots are written
to test-output/pages/ for people to look at.

Runs when Chromium is installed, and must run when BROWSER_TEST=1 (.ci/run sets it).
"""

import re
from decimal import Decimal

import pytest

from projects.domain import rules
from projects.models import AnnualPlan
from projects.reference.data import reference_data_load
from projects.reference.demo import demo_seed

from .conftest import make_project
from .test_browser import OUTPUT, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

PASSWORD = "browser-pages-password"
SCOPES = {"province": "province", "city": "shijiazhuang", "county": "zhengding"}
PAGES = {
    "dashboard": "/",
    "list": "/projects/",
    "detail": None,  # the first project of the list
    "actions": "/actions/",
    "profile": "/profile/",
    "report": "/reports/",
    "review": "/reports/review/",
    "inbox": "/inbox/",
}
# Latin words that may appear in Chinese mode: the export formats, the language's own name, the API.
ALLOWED_LATIN = {"XLSX", "CSV", "JSON", "English", "API"}


@pytest.fixture
def demo(transactional_db):
    reference_data_load()  # a live-server test starts from an empty database
    demo_seed(projects=150, seed=3, password=PASSWORD)
    year = rules.today().year
    for name in ("正定县智能装备产业园项目", "正定县新型显示材料项目"):  # the county user's own, whatever the seed gave
        project = make_project(name, "130123", total_investment=Decimal("123456.78"))
        AnnualPlan.objects.create(project=project, year=year, planned_investment=Decimal("20000"))
    yield
    reference_data_load()  # the flush after this test removed it; later tests expect it


def login(context, base, username, language):
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base) + r"/(inbox/)?$"))  # editors and coordinators land on 待办 (issue 26)
    context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    return page


def latin_words(text):
    return {word for word in re.findall(r"(?<![\w-])[A-Za-z]{3,}(?![\w-])", text)} - ALLOWED_LATIN


@pytest.mark.parametrize("scope", list(SCOPES))
def test_pages_fit_every_screen_in_both_languages(scope, demo, live_server, browser):  # noqa: F811
    out = OUTPUT / "pages"
    out.mkdir(parents=True, exist_ok=True)
    problems = []
    for language in ("zh-hans", "en"):
        for width in (1400, 390):
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = login(context, live_server.url, SCOPES[scope], language)
            for name, path in PAGES.items():
                if path is None:
                    page.goto(f"{live_server.url}/projects/")
                    path = page.locator("table.list td.name > a").first.get_attribute("href")
                response = page.goto(f"{live_server.url}{path}")
                if response.status == 403:
                    continue  # not this role's page (the report form for a leader, the review for a county)
                assert response.status == 200, (scope, name, response.status)
                where = f"{scope} {name} {language} {width}px"
                page.screenshot(path=str(out / f"{scope}-{name}-{language}-{width}.png"), full_page=True)
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width + 1:
                    problems.append(f"{where}: {scroll}px wide")
                if width == 1400:
                    # Every column of a table on screen: no table wider than the box that holds it.
                    hidden = page.evaluate("""[...document.querySelectorAll('.table-wrap')]
                        .filter(box => box.scrollWidth > box.clientWidth + 1)
                        .map(box => box.querySelector('table').className)""")
                    if hidden:
                        problems.append(f"{where}: a table wider than its box: {hidden}")
                if language == "zh-hans":
                    words = latin_words(page.locator("body").inner_text())
                    if words:
                        problems.append(f"{where}: English in Chinese mode: {sorted(words)[:8]}")
            context.close()
    assert not problems, "\n".join(problems)


def test_an_error_page_is_in_the_sites_layout_and_language(demo, live_server, browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = login(context, live_server.url, "leader", "zh-hans")
    response = page.goto(f"{live_server.url}/reports/")
    assert response.status == 403
    text = page.locator("body").inner_text()
    assert "没有权限" in text and "返回驾驶舱" in text and "菜单" in page.locator("header").inner_text()
    assert not latin_words(text)
    response = page.goto(f"{live_server.url}/projects/987654321/")
    assert response.status == 404 and "页面不存在" in page.locator("body").inner_text()
    context.close()


def test_a_figure_that_wants_a_note_and_a_review_of_a_changed_report_in_both_languages(demo, live_server, browser,  # noqa: F811
                                                                                     monkeypatch):
    """Issue 20 as people see it: the row's warnings asking for a 说明 (the old note no longer enough), and
    the reviewer told that a report changed after the page was loaded. Screenshots for people to look at."""
    from projects.models import MonthlyReport, Project

    # Playwright's sync API keeps an event loop in this thread; the test's own queries are plain sync ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    out = OUTPUT / "pages"
    out.mkdir(parents=True, exist_ok=True)
    project = Project.objects.get(name="正定县智能装备产业园项目")
    month = rules.add_months(rules.month_start(rules.today()), -1)
    for language in ("zh-hans", "en"):
        for width in (1400, 390):
            MonthlyReport.objects.filter(project=project, month=month).delete()
            context = browser.new_context(viewport={"width": width, "height": 900})
            county = login(context, live_server.url, "zhengding", language)
            county.goto(f"{live_server.url}/reports/?q={project.name}&month={month:%Y-%m}")
            county.fill(f"input[name=p{project.pk}-completed]", "60000")
            county.click("button.primary")
            row = county.locator(f"tr[data-project='{project.pk}']")
            assert row.locator("ul.warnings li").count() >= 1
            county.screenshot(path=str(out / f"county-report-warnings-{language}-{width}.png"), full_page=True)
            assert county.evaluate("document.documentElement.scrollWidth") <= width + 1
            county.fill(f"input[name=p{project.pk}-note]", "设备一次性到货")
            county.click("button.primary")
            assert MonthlyReport.objects.get(project=project, month=month).completed_investment == 60000
            # The city opens 审核; meanwhile the county changes the figure; the city approves what it saw.
            reviewer_context = browser.new_context(viewport={"width": width, "height": 900})
            city = login(reviewer_context, live_server.url, "shijiazhuang", language)
            city.goto(f"{live_server.url}/reports/review/?month={month:%Y-%m}")
            county.goto(f"{live_server.url}/reports/?q={project.name}&month={month:%Y-%m}")
            county.fill(f"input[name=p{project.pk}-completed]", "6000")
            county.fill(f"input[name=p{project.pk}-note]", "更正：多录一位")
            county.click("button.primary")
            report = MonthlyReport.objects.get(project=project, month=month)
            city.locator(f"button[name=one][value='approve:{report.pk}']").click()
            city.wait_for_load_state()
            assert MonthlyReport.objects.get(pk=report.pk).review_status == "submitted"
            city.screenshot(path=str(out / f"city-review-changed-{language}-{width}.png"), full_page=True)
            assert city.evaluate("document.documentElement.scrollWidth") <= width + 1
            reviewer_context.close()
            context.close()


# Product names the enrolment page names in Chinese mode too (the apps people install).
TWO_FACTOR_LATIN = {"TOTP", "Microsoft", "Authenticator", "Google", "FreeOTP", "App", "MFA"}


@pytest.fixture
def two_factor_users(transactional_db, settings):
    from projects.domain.choices import Role

    from .conftest import make_user

    reference_data_load()  # a live-server test starts from an empty database
    settings.TWO_FACTOR_REQUIRED = True
    made = {}
    for username, role, region in (("province", Role.PROVINCE_ADMIN, "130000"), ("shijiazhuang", Role.CITY_COORDINATOR, "130100")):
        user = make_user(username, role, region)
        user.first_name = {"province": "省发展改革委", "shijiazhuang": "石家庄市发展改革局"}[username]
        user.set_password(PASSWORD)
        user.save()
        made[username] = user
    yield made
    reference_data_load()  # the flush after this test removed it; later tests expect it


def test_two_factor_pages_fit_every_screen_in_both_languages(two_factor_users, live_server, browser, monkeypatch):  # noqa: F811
    """Issue 22: the enrolment page (QR code drawn in the page), the recovery codes, the verification step
    after the password and the password-reset request, at 1,400 and 390 px in Chinese and English."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the test's own queries beside Playwright's loop
    out = OUTPUT / "pages"
    out.mkdir(parents=True, exist_ok=True)
    city, province = two_factor_users["shijiazhuang"], two_factor_users["province"]
    TOTPDevice.objects.create(user=province, name="手机", confirmed=True)
    problems = []

    def password_login(context, username, language):
        context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    def look(page, name, language, width, allowed=frozenset()):
        page.screenshot(path=str(out / f"{name}-{language}-{width}.png"), full_page=True)
        where = f"{name} {language} {width}px"
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width + 1:
            problems.append(f"{where}: {scroll}px wide")
        if language == "zh-hans":
            # The key and the recovery codes (in <code>) are letters by nature.
            text = page.evaluate("""(() => { const main = document.querySelector('main').cloneNode(true);
                main.querySelectorAll('code').forEach(code => code.remove()); return main.textContent; })()""")
            words = latin_words(text) - allowed
            if words:
                problems.append(f"{where}: English in Chinese mode: {sorted(words)[:8]}")

    for language in ("zh-hans", "en"):
        for width in (1400, 390):
            TOTPDevice.objects.filter(user=city).delete()
            StaticDevice.objects.filter(user=city).delete()
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = password_login(context, "shijiazhuang", language)
            assert "/accounts/two-factor/" in page.url, page.url  # a city coordinator must enrol first
            assert page.locator("figure.qr svg").is_visible()
            look(page, "two-factor-setup", language, width, TWO_FACTOR_LATIN)
            device = TOTPDevice.objects.get(user=city, confirmed=False)
            page.fill("#id_code", f"{totp(device.bin_key):06d}")
            page.click("button.primary")
            page.wait_for_load_state()
            assert page.locator("ol.recovery-codes li").count() == 10
            look(page, "two-factor-codes", language, width)
            page.goto(f"{live_server.url}/accounts/two-factor/")  # enrolled and verified: the state of it
            assert page.locator("dl.two-factor-state").is_visible()
            look(page, "two-factor-status", language, width)
            context.close()

            context = browser.new_context(viewport={"width": width, "height": 900})
            page = password_login(context, "province", language)
            assert "/accounts/two-factor/verify/" in page.url, page.url
            look(page, "two-factor-verify", language, width)
            page.fill("#id_code", "000000")
            page.click("button.primary")
            page.wait_for_load_state()
            assert page.locator(".errorlist").count() == 1
            look(page, "two-factor-verify-wrong", language, width)
            context.close()

            context = browser.new_context(viewport={"width": width, "height": 900})
            context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/accounts/login/")
            page.click("a[href='/accounts/password_reset/']")
            page.wait_for_load_state()
            look(page, "password-reset", language, width)
            context.close()
    assert not problems, "\n".join(problems)


def test_the_audit_trail_fits_every_screen_in_both_languages(demo, live_server, browser, monkeypatch):  # noqa: F811
    """Issue 22: the province's 安全审计日志 (the admin list with its filters) at 1,400 and 390 px in Chinese and
    English, with one event of each kind; screenshots for people to look at."""
    from projects.audit.services import audit_record
    from projects.models import AuditEvent, Project, User

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the test's own queries beside Playwright's loop
    Code = AuditEvent.Code
    province, county = User.objects.get(username="province"), User.objects.get(username="zhengding")
    audit_record(code=Code.LOGIN_FAILED, username="zhengding", params={"username": "zhengding"})
    audit_record(code=Code.LOCKED_OUT, username="zhengding", params={"username": "zhengding"})
    audit_record(code=Code.ROLE_CHANGED, actor=province, target=county,
                 params={"user": "zhengding", "before": "county_editor", "after": "city_coordinator"})
    audit_record(code=Code.TOKEN_ISSUED, actor=province, target=county,
                 params={"user": "zhengding", "name": "正定县项目管理系统", "read_only": True, "expiry": "2027-12-06 10:00"})
    audit_record(code=Code.EXPORT, actor=county, params={"table": Project._meta.label_lower, "format": "xlsx", "rows": 42,
                                                         "filters": {"stage": ["continuing"], "light": ["red"]}})
    audit_record(code=Code.IMPORT_CONFIRMED, actor=county, params={
        "table": Project._meta.label_lower, "file": "正定县2026年重点项目清单.xlsx", "counts": {"created": 3, "updated": 12, "unchanged": 40},
        "skipped": 2, "errors": 0})
    out = OUTPUT / "pages"
    out.mkdir(parents=True, exist_ok=True)
    problems = []
    for language in ("zh-hans", "en"):
        for width in (1400, 390):
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = login(context, live_server.url, "province", language)
            response = page.goto(f"{live_server.url}/admin/projects/auditevent/")
            assert response.status == 200
            text = page.locator("body").inner_text()
            assert ("安全审计日志" if language == "zh-hans" else "Security audit trail") in text
            assert ("登录失败" if language == "zh-hans" else "Failed login") in text
            page.screenshot(path=str(out / f"province-audit-{language}-{width}.png"), full_page=True)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width + 1:
                problems.append(f"audit {language} {width}px: {scroll}px wide")
            context.close()
    assert not problems, "\n".join(problems)
