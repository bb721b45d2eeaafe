"""Issue 26: the to-do inbox (待办) — what a user owes this month, each line a link to exactly those rows, its
count in the menu, and the first page after login for those who report or review. Through the pages, per role
(county editor, city coordinator, province administrator, leader), and never anything of another region."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from projects.domain import rules
from projects.domain.choices import ReviewStatus, Stage, SupervisionCause, SupervisionLevel
from projects.inbox.reads import inbox_count, inbox_items, total
from projects.models import ImportBatch, MonthlyReport, SupervisionItem
from projects.shared.editing import progress_refresh

from .conftest import NANGONG, QIAOXI_SJZ, SHIJIAZHUANG, ZHENGDING, make_project
from .test_access import client_for

PASSWORD = "correct-horse-battery-staple"


def month():
    return rules.reporting_month(rules.today())


def report(project, status=ReviewStatus.SUBMITTED, reason="", when=None):
    return MonthlyReport.objects.create(project=project, month=when or month(), completed_investment=Decimal("10"),
                                        reported_at=timezone.now(), review_status=status, review_reason=reason)


def item(project, level, due_on, cause=SupervisionCause.MANUAL):
    return SupervisionItem.objects.create(project=project, cause=cause, description="请加快推进", level=level,
                                          opened_on=rules.today() - datetime.timedelta(days=10), due_on=due_on)


@pytest.fixture
def owed(db):
    """正定 owes one report, had one returned, has one submitted, and has 督办 items; 桥西 (same city) has a submitted
    report; 南宫 (another city) owes, had one returned, and has an item: none of 南宫's may reach 石家庄's people."""
    made = {
        "zd_owing": make_project("正定县应报项目", ZHENGDING),
        "zd_returned": make_project("正定县退回项目", ZHENGDING),
        "zd_submitted": make_project("正定县已报项目", ZHENGDING),
        "zd_preparatory": make_project("正定县前期项目", ZHENGDING, stage=Stage.PREPARATORY),
        "qx_submitted": make_project("桥西区已报项目", QIAOXI_SJZ),
        "sjz_own": make_project("石家庄市本级项目", city_code=SHIJIAZHUANG),
        "ng_owing": make_project("南宫市应报项目", NANGONG),
        "ng_returned": make_project("南宫市退回项目", NANGONG),
    }
    made["zd_returned_report"] = report(made["zd_returned"], ReviewStatus.RETURNED, "投资额与台账不符")
    report(made["zd_submitted"])
    report(made["qx_submitted"])
    report(made["sjz_own"])
    report(made["ng_returned"], ReviewStatus.RETURNED, "南宫的原因")
    today = rules.today()
    made["zd_item_overdue"] = item(made["zd_owing"], SupervisionLevel.COUNTY, today - datetime.timedelta(days=2))
    made["zd_item"] = item(made["zd_submitted"], SupervisionLevel.COUNTY, today + datetime.timedelta(days=5))
    made["zd_city_item"] = item(made["zd_owing"], SupervisionLevel.CITY, today + datetime.timedelta(days=3))
    made["ng_item"] = item(made["ng_owing"], SupervisionLevel.COUNTY, today - datetime.timedelta(days=1))
    progress_refresh()
    return made


def inbox(user):
    response = client_for(user).get(reverse("inbox"))
    assert response.status_code == 200
    return response


def by_kind(response, kind):
    return [entry for entry in response.context["items"] if entry.kind == kind]


def rows_behind(client, href):
    """The rows the page behind an inbox link lists."""
    response = client.get(href)
    assert response.status_code == 200, href
    context = response.context
    if "table" in context:
        return {row["project"].pk for row in context["table"]}
    if "reports" in context:
        return {report.project_id for report in context["reports"]}
    return {entry.pk for entry in context["page"].object_list}


def test_a_county_editor_sees_what_they_owe_each_a_link_to_exactly_those_rows(users, owed):
    editor = users["county_editor"]
    client = client_for(editor)
    response = inbox(editor)
    (to_report,) = by_kind(response, "report")
    assert to_report.count == 1 and to_report.deadline == rules.report_deadline(month())
    assert rows_behind(client, to_report.href) == {owed["zd_owing"].pk}
    (returned,) = by_kind(response, "returned")
    assert returned.count == 1 and rows_behind(client, returned.href) == {owed["zd_returned"].pk}
    html = response.content.decode()
    assert "投资额与台账不符" in html and "正定县退回项目" in html  # the reason, with the project
    supervision = by_kind(response, "supervision")
    assert [line.count for line in supervision] == [2, 1]  # open at the county level, of which overdue
    assert supervision[0].deadline == owed["zd_item_overdue"].due_on and supervision[0].overdue
    assert rows_behind(client, supervision[0].href) == {owed["zd_item_overdue"].pk, owed["zd_item"].pk}
    assert rows_behind(client, supervision[1].href) == {owed["zd_item_overdue"].pk}
    assert not by_kind(response, "review")  # a county does not review
    assert response.context["total"] == 1 + 1 + 2
    # The deadline on the working-day calendar, and the menu's count.
    assert f"{rules.report_deadline(month()):%Y}" in html and "待办（4）" in html


def test_nothing_of_another_region_reaches_the_inbox(users, owed):
    html = inbox(users["county_editor"]).content.decode() + inbox(users["city_coordinator"]).content.decode()
    assert "南宫" not in html
    other = inbox(users["other_county_editor"])
    assert [line.count for line in by_kind(other, "report")] == [1] and [line.count for line in by_kind(other, "returned")] == [1]
    text = other.content.decode()
    assert "南宫的原因" in text and "正定" not in text and "投资额与台账不符" not in text
    assert [line.count for line in by_kind(other, "supervision")] == [1, 1]


def test_a_city_coordinator_sees_the_reports_to_review_and_the_citys_items(users, owed):
    coordinator = users["city_coordinator"]
    client = client_for(coordinator)
    response = inbox(coordinator)
    (review,) = by_kind(response, "review")
    assert review.count == 2  # 正定's and 桥西's; the city's own report is the province's to review
    assert rows_behind(client, review.href) == {owed["zd_submitted"].pk, owed["qx_submitted"].pk}
    supervision = by_kind(response, "supervision")
    assert [line.count for line in supervision] == [1]  # the city-level item, not the counties'
    assert rows_behind(client, supervision[0].href) == {owed["zd_city_item"].pk}
    (to_report,) = by_kind(response, "report")  # the city's scope still owes 正定's
    assert rows_behind(client, to_report.href) == {owed["zd_owing"].pk}


def test_the_citys_supervision_lines_are_counted_in_two_queries_each_a_link_to_its_rows(users, owed):
    """Open items at the city's level (one overdue), two of 正定's awaiting the city's sign-off and one extension
    request: each line counts them and links to them (the item itself when it is the only one), read in two queries
    (issue 24: the menu's count is read anew after every write in the scope; these were five)."""
    from projects.domain.choices import SupervisionStatus

    coordinator = users["city_coordinator"]
    today = rules.today()
    overdue = item(owed["zd_submitted"], SupervisionLevel.CITY, today - datetime.timedelta(days=1))
    signoffs = [item(owed[name], SupervisionLevel.COUNTY, today) for name in ("zd_owing", "zd_returned")]
    SupervisionItem.objects.filter(pk__in=[entry.pk for entry in signoffs]).update(status=SupervisionStatus.SIGNOFF)
    asked = item(owed["zd_returned"], SupervisionLevel.COUNTY, today + datetime.timedelta(days=1))
    SupervisionItem.objects.filter(pk=asked.pk).update(extension_due_on=today + datetime.timedelta(days=30))
    # 南宫's item awaits sign-off too: 邢台's to sign off, not 石家庄's.
    SupervisionItem.objects.filter(pk=owed["ng_item"].pk).update(status=SupervisionStatus.SIGNOFF)
    with CaptureQueriesContext(connection) as captured:
        lines = [line for line in inbox_items(coordinator) if line.kind == "supervision"]
    assert len([query for query in captured.captured_queries if '"projects_supervisionitem"' in query["sql"]]) == 2
    assert [(line.title, line.count, line.counted) for line in lines] == [
        ("待办理的督办事项（市级）", 2, True), ("其中已逾期", 1, False), ("待销号的督办事项", 2, True), ("待审批的延期申请", 1, True)]
    client = client_for(coordinator)
    assert rows_behind(client, lines[0].href) == {owed["zd_city_item"].pk, overdue.pk}
    assert lines[0].deadline == overdue.due_on and lines[0].overdue
    assert rows_behind(client, lines[1].href) == {overdue.pk}
    assert lines[2].href == reverse("supervision") + "?status=signoff#awaiting"
    assert lines[3].href == reverse("supervision_item", args=[asked.pk])


def test_unreported_is_owed_and_neither_counted_nor_returned_one_rule_for_the_report_page_and_the_inbox(users, owed):
    """lights.report_status_q("unreported"): one subquery, the same projects as "missing" and not "returned"."""
    from projects.models import Project
    from projects.shared.lights import report_status_q

    def ids(where):
        return set(Project.objects.filter(where).values_list("pk", flat=True))

    unreported = ids(report_status_q("unreported", month()))
    assert unreported == ids(report_status_q("missing", month()) & ~report_status_q("returned", month()))
    assert owed["zd_owing"].pk in unreported and owed["ng_owing"].pk in unreported
    assert not unreported & {owed["zd_returned"].pk, owed["zd_submitted"].pk, owed["zd_preparatory"].pk}


def test_a_report_leaves_the_supervision_lines_kept_and_an_items_or_a_projects_write_reads_them_again(users, owed):
    """The 督办 lines are read from the items and the projects' places alone (issue 24: a write invalidates only what it
    can change): a report in the scope keeps them, an item written or a project moved out of the scope does not."""
    from .conftest import region

    coordinator = users["city_coordinator"]

    def supervision():
        with CaptureQueriesContext(connection) as captured:
            lines = [line for line in inbox_items(coordinator) if line.kind == "supervision"]
        return [line.count for line in lines], len([query for query in captured.captured_queries
                                                    if '"projects_supervisionitem"' in query["sql"]])

    assert supervision() == ([1], 2)
    report(owed["zd_owing"])  # 正定's report: the city's versions move, its 待办 count is read anew
    assert supervision() == ([1], 0)
    added = item(owed["zd_submitted"], SupervisionLevel.CITY, rules.today() + datetime.timedelta(days=1))
    assert supervision() == ([2], 2)
    moved = added.project
    moved.county = region(NANGONG)
    moved.city = moved.county.reporting_city
    moved.save()  # to 邢台: its items leave 石家庄's lines
    assert supervision() == ([1], 2)


def test_the_province_reviews_city_wide_reports_and_a_leader_owes_no_report(users, owed):
    province = inbox(users["province_admin"])
    (review,) = by_kind(province, "review")
    assert rows_behind(client_for(users["province_admin"]), review.href) == {owed["sjz_own"].pk}
    leader = inbox(users["leader"])
    assert not by_kind(leader, "report") and not by_kind(leader, "returned") and not by_kind(leader, "review")


def test_imports_waiting_for_confirmation_are_the_users_own(users, owed):
    editor, other = users["county_editor"], users["other_county_editor"]

    def batch(user, filename, status=ImportBatch.Status.PREVIEWED, errors=()):
        return ImportBatch.objects.create(user=user, filename=filename, data=b"x", kind="progress", sha256="0" * 64,
                                          status=status, result={"errors": list(errors)})

    waiting = batch(editor, "正定11月调度.xlsx")
    batch(editor, "有错误.xlsx", errors=[{"row": 3}])
    batch(editor, "已导入.xlsx", status=ImportBatch.Status.APPLIED)
    batch(other, "南宫清单.xlsx")
    response = inbox(editor)
    (line,) = by_kind(response, "import")
    assert line.href == reverse("admin:projects_monthlyreport_import_confirm", args=[waiting.pk])
    html = response.content.decode()
    assert "正定11月调度.xlsx" in html and "南宫清单.xlsx" not in html and "有错误.xlsx" not in html


def login(username, **params):
    client = Client()
    url = reverse("login") + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
    response = client.post(url, {"username": username, "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    return response.redirect_chain[-1][0]


@pytest.mark.parametrize("username, landing", [("zd", "/inbox/"), ("sjz", "/inbox/"), ("prov", "/"), ("boss", "/")])
def test_the_first_page_after_login_by_role(username, landing, users):
    assert login(username) == landing


def test_a_login_with_next_goes_there(users):
    assert login("zd", next="/projects/") == "/projects/"
    client = client_for(users["county_editor"])
    assert client.get(reverse("start"), {"next": "https://evil.example.org/"}).url == reverse("inbox")


def test_the_menus_count_is_cached_and_follows_a_write(users, owed):
    editor = users["county_editor"]
    client = client_for(editor)
    assert "待办（4）" in client.get(reverse("project_list")).content.decode()
    with CaptureQueriesContext(connection) as warm:
        client.get(reverse("profile"))
    assert not [query for query in warm.captured_queries if "projects_supervisionitem" in query["sql"]]  # from the cache
    report(owed["zd_owing"])
    progress_refresh(projects=[owed["zd_owing"].pk])  # as every report writer does: moves the county's version
    assert inbox_count(editor) == 3
    assert "待办（3）" in client.get(reverse("project_list")).content.decode()


def test_a_cold_menu_count_is_kept_once(users, owed, monkeypatch):
    """The count was kept twice when cold (by the inbox's count_store and again by computed_once): a cache write each."""
    from projects.inbox import reads

    editor = users["county_editor"]
    key = reads._count_key(editor, rules.today())
    written, real_set = [], cache.set
    monkeypatch.setattr(cache, "set", lambda name, *args, **kw: written.append(name) or real_set(name, *args, **kw))
    assert inbox_count(editor) == 4
    assert written.count(key) == 1
    assert inbox_count(editor) == 4 and written.count(key) == 1  # read, not counted again


def test_the_menus_count_takes_the_same_queries_whatever_is_owed(users):
    editor = users["county_editor"]
    client = client_for(editor)

    def queries_for(count):
        for index in range(count):
            project = make_project(f"正定待办{count}-{index}", ZHENGDING)
            report(project, ReviewStatus.RETURNED, "重报", when=month())
            item(project, SupervisionLevel.COUNTY, rules.today())
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("inbox")).status_code == 200
        return len(captured.captured_queries)

    assert queries_for(3) == queries_for(25)


def test_the_menu_item_is_on_every_page(users):
    html = client_for(users["leader"]).get(reverse("dashboard")).content.decode()
    assert re.search(r'<a href="/inbox/" class="inbox-link"[^>]*>待办', html)


@pytest.mark.parametrize("role", ["county_editor", "city_coordinator", "province_admin", "leader"])
def test_the_menus_count_is_the_inbox_pages_without_reading_its_rows(users, owed, role):
    """The menu's number is read anew after every write in the user's scope (for the province, after anyone's): it
    counts what the page lists, without reading the returned reports and their projects the page shows."""
    user = users[role]
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        counted = inbox_count(user)
    assert counted == total(inbox_items(user))
    assert not [query for query in captured.captured_queries if "review_reason" in query["sql"]]


@pytest.mark.parametrize("in_parts", [False, True])
def test_after_a_countys_report_the_provinces_menu_count_recounts_that_county_alone(users, owed, monkeypatch, in_parts):
    """Issue 24: the menu's number of a province administrator is read anew after anyone's write; counted per
    region and cached per region, a report in 正定 recounts 正定 alone: not the province's projects, nor its city's
    own (no county) or those of no region, whose versions a county's write leaves: the same number as counting
    everything. A region kept in parts (pieces.PART_SIZE) recounts the written project's part alone."""
    from projects.inbox import reads
    from projects.shared import pieces, versions

    admin = users["province_admin"]
    cache.clear()
    whole = inbox_count(admin)
    if in_parts:
        monkeypatch.setattr(pieces, "PART_SIZE", 1)
    cache.clear()
    before = inbox_count(admin)
    assert before == whole
    recounted = []
    real_read_pieces = reads.read_pieces
    monkeypatch.setattr(reads, "read_pieces", lambda read, missing, slots: recounted.append(set(missing)) or real_read_pieces(read, missing, slots))
    report(owed["zd_owing"])
    progress_refresh(projects=[owed["zd_owing"].pk])  # moves 正定's, 石家庄's and the province's versions
    after = inbox_count(admin)
    county = ("county", owed["zd_owing"].county_id)
    parts = pieces.region_parts().get(county)
    assert bool(parts) == in_parts
    assert recounted == [{(*county, versions.part_number(parts, owed["zd_owing"].pk % parts)) if in_parts else county}]
    assert after == before - 1
    cache.clear()
    assert after == inbox_count(admin) == total(inbox_items(admin))
    monkeypatch.setattr(pieces, "PART_SIZE", 10**9)
    cache.clear()
    assert inbox_count(admin) == after


def test_a_month_with_many_returned_reports_lists_its_first_twenty_and_counts_them_all(users, owed):
    """The page lists the first RETURNED_LISTED of each month (in the list's order) under a line counting them all,
    without reading the others: province-wide, thousands are returned in a month."""
    from projects.inbox.reads import RETURNED_LISTED

    earlier = rules.add_months(month(), -1)
    for index in range(RETURNED_LISTED + 5):
        report(make_project(f"正定退回{index:02d}", ZHENGDING), ReviewStatus.RETURNED, "重报", when=earlier)
    progress_refresh()
    lines = by_kind(inbox(users["county_editor"]), "returned")
    assert [line.count for line in lines] == [1, RETURNED_LISTED + 5]  # this month's, then last month's
    assert [report.project.name for report in lines[1].rows] == [f"正定退回{index:02d}" for index in range(RETURNED_LISTED)]
    assert [report.project.name for report in lines[0].rows] == ["正定县退回项目"]


def test_a_report_counts_what_its_part_owes_when_it_commits_and_every_reader_after_it_counts_nothing(
        users, owed, django_capture_on_commit_callbacks):
    """Issue 24: after a county's report, every reader's menu counted the written part again (three queries, 20 ms of
    a cold province list at 100,000 projects), once per kind of scope: the province's, its city's and the county's
    readers each kept their own. What a part owes is now one piece for every scope, counted by the write when it
    commits (a summary kept on write): the readers after it read no report, and their numbers are those of counting
    everything."""
    from .test_dispatch_cycle import form_url, row

    readers = [users[role] for role in ("province_admin", "city_coordinator", "county_editor")]
    cache.clear()
    before = [inbox_count(user) for user in readers]
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_for(users["county_editor"]).post(form_url(), row(owed["zd_owing"], "10", "主体施工", version=0))
    assert answer.status_code == 302
    after = []
    for user in readers:
        with CaptureQueriesContext(connection) as read:
            after.append(inbox_count(user))
        assert not [query["sql"] for query in read.captured_queries if "projects_monthlyreport" in query["sql"]]
    # 正定 reported: everyone owes one report less, and 石家庄 has it to review.
    assert after == [before[0] - 1, before[1], before[2] - 1]
    cache.clear()
    assert after == [inbox_count(user) for user in readers] == [total(inbox_items(user)) for user in readers]


def test_a_write_whose_count_on_commit_fails_stands_and_its_readers_count_it(
        users, owed, monkeypatch, caplog, django_capture_on_commit_callbacks):
    """The count a write keeps when it commits is a service to its readers: when it fails (the database or the cache
    away at that moment), the write stands, the failure is logged, and the readers count the part themselves."""
    from projects.inbox import signals
    from projects.models import MonthlyReport

    from .test_dispatch_cycle import form_url, row

    editor = users["county_editor"]
    cache.clear()
    before = inbox_count(editor)

    def away(places):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(signals, "owed_kept_on_write", away)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_for(editor).post(form_url(), row(owed["zd_owing"], "10", "主体施工", version=0))
    assert answer.status_code == 302
    assert MonthlyReport.objects.filter(project=owed["zd_owing"], month=month()).exists()
    assert "the database went away" in caplog.text
    assert inbox_count(editor) == before - 1 == total(inbox_items(editor))
