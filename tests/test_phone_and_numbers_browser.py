"""Issue 26 in Chromium: the project list and the supervision page at 390 px (filters folded, rows as compact
cards) and the admin project change page within a 1,400 px window, in Chinese and English. Screenshots go
to test-output/phone/ for people to look at.

Heights at 390 px, with the demo's 150 projects (50 rows on the list's first page, the default size):
before issue 26 the list was ~25,600 px (the ~1,500 px of unfolded filters, then ~480 px a row) and the
supervision page ~23,100 px with 3,000 projects (50 rows of ~420 px and ~245 px for each region's line of
the summary). The bounds below allow ~300 px a list row and ~230 px a supervision row (a row now shows its
cells three to a line) plus ~1,800 px for the page's head, summary lines and pagination: well below the
old heights, with room for a long name or light reason wrapping onto more lines.

Runs when Chromium is installed, and must run when BROWSER_TEST=1.
"""

import pytest

from projects.domain.choices import ProblemCategory, ProblemStatus
from projects.models import Problem, Project

from .test_browser import OUTPUT, browser  # noqa: F401  (the fixture)
from .test_browser_pages import demo, login  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

# A supervision row is ~220 px in English, where the cause ("Project turned red") wraps onto two lines.
LIST_ROW_PX, SUPERVISION_ROW_PX, REGION_LINE_PX, HEAD_PX = 300, 230, 110, 1800


def context_for(browser, width, language):  # noqa: F811
    """A reader in Hebei: the browser's time zone and language as theirs (no admin time-zone notes)."""
    return browser.new_context(viewport={"width": width, "height": 900}, timezone_id="Asia/Shanghai",
                               locale="zh-CN" if language == "zh-hans" else "en-US")


@pytest.fixture
def with_problem(demo):  # noqa: F811
    """A project with a 问题协调 row of long texts, the inline that made the change page too wide. Made before
    the browser starts (no database calls from Playwright's event loop)."""
    project = Project.objects.filter(problems__isnull=False).first() or Project.objects.first()
    Problem.objects.create(project=project, category=ProblemCategory.choices[-1][0], status=ProblemStatus.RESOLVED,
                           description="外部供电线路未接入，需协调供电公司尽快完成线路迁改", responsible_unit="石家庄市发展和改革委员会",
                           raised_on="2026-08-29", resolution="已协调供电公司完成线路迁改", resolved_on="2026-09-04")
    return project


def test_lists_on_a_phone_and_the_change_page_at_1400(with_problem, live_server, browser):  # noqa: F811
    out = OUTPUT / "phone"
    out.mkdir(parents=True, exist_ok=True)
    project = with_problem
    measured, problems = [], []
    for language in ("zh-hans", "en"):
        phone = context_for(browser, 390, language)
        page = login(phone, live_server.url, "province", language)
        for name, path, row_px in (("list", "/projects/", LIST_ROW_PX), ("supervision", "/supervision/", SUPERVISION_ROW_PX)):
            assert page.goto(f"{live_server.url}{path}").status == 200
            page.screenshot(path=str(out / f"{name}-{language}-390.png"), full_page=True)
            height = page.evaluate("document.documentElement.scrollHeight")
            rows = page.locator("table.list:not(.levels) > tbody > tr").count()
            regions = page.locator("table.levels > tbody > tr").count()
            bound = HEAD_PX + rows * row_px + regions * REGION_LINE_PX
            measured.append(f"{name} {language} 390px: {height}px, {rows} rows (bound {bound})")
            if height > bound:
                problems.append(measured[-1])
            if page.evaluate("document.documentElement.scrollWidth") > 391:
                problems.append(f"{name} {language} 390px wider than the phone")
            # The filters are folded behind one button: the list's first result is on the first screen.
            assert not page.locator("form.filters").is_visible() and page.locator("details.filters-fold > summary").is_visible()
            if name == "list":
                assert page.locator("table.list:not(.levels) > tbody > tr").first.bounding_box()["y"] < 900
        page.locator("details.filters-fold > summary").click()  # one tap unfolds them
        assert page.locator("form.filters").is_visible()
        phone.close()

        desktop = context_for(browser, 1400, language)
        page = login(desktop, live_server.url, "province", language)
        page.goto(f"{live_server.url}/projects/")
        assert page.locator("form.filters").is_visible() and not page.locator("details.filters-fold > summary").is_visible()
        assert page.goto(f"{live_server.url}/admin/projects/project/{project.pk}/change/").status == 200
        page.screenshot(path=str(out / f"admin-change-{language}-1400.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        measured.append(f"admin change {language} 1400px: {width}px wide")
        if width > 1400:
            problems.append(measured[-1])
        # Nothing of an inline cut off inside its box either: every control within the inline's right edge.
        clipped = page.evaluate("""[...document.querySelectorAll('.inline-group')].flatMap(group => {
            const right = group.getBoundingClientRect().right;
            return [...group.querySelectorAll('tr:not(.empty-form) td input:not([type=hidden]), tr:not(.empty-form) td select,'
                                               + ' tr:not(.empty-form) td textarea')]
              .filter(e => e.getBoundingClientRect().width && e.getBoundingClientRect().right > right + 1)
              .map(e => group.id + ' ' + e.name); })""")
        if clipped:
            problems.append(f"admin change {language} 1400px: cut off {clipped}")
        desktop.close()
    print("\n".join(measured))
    assert not problems, "\n".join(problems + measured)
