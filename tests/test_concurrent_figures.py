"""Issue 20, point 5: several people at once on one report, through every writer (the report page, the
API, the admin's inline, the review), with real concurrent requests on PostgreSQL's row locks. A loser
gets the stale-version refusal (409 in the API, the row's message with the input kept on the page),
never a 500, a deadlock or a duplicate. SQLite serialises whole-database writers, so these run on
PostgreSQL (CI's second pass, where REQUIRE_DATABASE_VENDOR makes sure of it)."""

import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from projects.domain.choices import ReviewStatus, Role
from projects.models import MonthlyReport, Project

from .concurrency import at_once, on_postgresql  # noqa: F401  (the fixture)
from .conftest import make_project, make_user
from .test_access import change_form_data
from .test_api import API, issue_token
from .test_dispatch_cycle import form_url, row, this_month

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
ROUNDS = 4




def logged_in(user):
    client = Client(raise_request_exception=False)  # a server error is an answer to count, not an exception
    client.force_login(user)
    return client




def api_post(token, body):
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token}")
    return lambda: client.post(API + "reports/", json.dumps(body), content_type="application/json")


def test_same_moment_first_reports_one_wins_the_others_are_refused_with_their_input_kept(on_postgresql):
    editors = [make_user(f"zd{index}", Role.COUNTY_EDITOR, "130123") for index in range(4)]
    tokens = [issue_token(editor) for editor in editors[:2]]
    pages = [logged_in(editor) for editor in editors[2:]]
    month = this_month()
    for round_ in range(ROUNDS):
        project = make_project(f"正定县同时首报项目{round_}", "130123")
        amounts = ["11", "22", "33", "44"]
        answers = at_once([
            api_post(tokens[0], {"project": project.pk, "month": month.isoformat(), "completed_investment": amounts[0], "version": 0}),
            api_post(tokens[1], {"project": project.pk, "month": month.isoformat(), "completed_investment": amounts[1], "version": 0}),
            lambda client=pages[0]: client.post(form_url(), row(project, amounts[2], version=0)),
            lambda client=pages[1]: client.post(form_url(), row(project, amounts[3], version=0)),
        ])
        statuses = [getattr(answer, "status_code", answer) for answer in answers]
        assert all(status in (201, 409) for status in statuses[:2]) and all(status in (302, 400) for status in statuses[2:]), statuses
        winners = [index for index, status in enumerate(statuses) if status in (201, 302)]
        assert len(winners) == 1, statuses
        [report] = MonthlyReport.objects.filter(project=project, month=month)
        assert report.completed_investment == Decimal(amounts[winners[0]])
        for index in set(range(4)) - set(winners):
            answer = answers[index]
            if index < 2:
                assert answer.json()["code"] == "stale" and "已被他人修改" in answer.json()["detail"]
            else:
                page = answer.content.decode()
                assert "已被他人修改" in page and f'value="{amounts[index]}"' in page  # the loser's input is kept


def test_the_admin_inline_the_page_the_api_and_the_review_at_once_never_deadlock(on_postgresql):
    editor = make_user("zd-editor", Role.COUNTY_EDITOR, "130123")
    admin_editor = make_user("zd-admin", Role.COUNTY_EDITOR, "130123")
    coordinator = make_user("sjz-reviewer", Role.CITY_COORDINATOR, "130100")
    token = issue_token(make_user("zd-machine", Role.COUNTY_EDITOR, "130123"))
    page, admin, reviewer = logged_in(editor), logged_in(admin_editor), logged_in(coordinator)
    month = this_month()
    review = reverse("report_review") + f"?month={month:%Y-%m}"
    for round_ in range(ROUNDS):
        project = make_project(f"正定县并发项目{round_}", "130123")
        report = MonthlyReport.objects.create(project=project, month=month, completed_investment=Decimal("10"))
        project = Project.objects.get(pk=project.pk)
        admin_form = change_form_data(project, contact="王工", **{
            "reports-TOTAL_FORMS": 1, "reports-INITIAL_FORMS": 1, "reports-0-id": report.pk, "reports-0-project": project.pk,
            "reports-0-month": month.strftime("%Y-%m"), "reports-0-completed_investment": "12",
        })
        answers = at_once([
            lambda: admin.post(reverse("admin:projects_project_change", args=[project.pk]), admin_form),
            lambda: page.post(form_url(), row(project, "13", version=report.version)),
            api_post(token, {"project": project.pk, "month": month.isoformat(), "completed_investment": "14",
                             "version": report.version}),
            lambda: reviewer.post(review, {"one": f"approve:{report.pk}", f"version-{report.pk}": str(report.version)}),
        ])
        statuses = [getattr(answer, "status_code", answer) for answer in answers]
        assert all(isinstance(status, int) and status < 500 for status in statuses), statuses
        report.refresh_from_db()
        # Whoever came first decided; an approval is only ever of the figure the reviewer saw.
        if report.review_status == ReviewStatus.APPROVED:
            assert report.completed_investment == Decimal("10")
        assert report.completed_investment in {Decimal("10"), Decimal("12"), Decimal("13"), Decimal("14")}


def test_eight_users_opening_a_cold_list_at_once_render_it_once(on_postgresql, monkeypatch):
    """Issue 24: after a write, a county's users open its list at the same moment. One renders the list's body; the
    others wait for it and are answered with it. Each rendered its own before, eight times the work at the worst time."""
    import time

    from projects.pages import project_list

    editors = [make_user(f"zd-list{index}", Role.COUNTY_EDITOR, "130123") for index in range(8)]
    clients = [logged_in(editor) for editor in editors]
    make_project("正定县同时打开的项目", "130123")  # the write: the county's kept list is cold
    rendered, real = [], project_list._list_context

    def slow(request, **kwargs):
        rendered.append(1)
        time.sleep(0.3)  # a province's list takes this long under load
        return real(request, **kwargs)

    monkeypatch.setattr(project_list, "_list_context", slow)
    answers = at_once([lambda client=client: client.get(reverse("project_list")) for client in clients])
    assert [getattr(answer, "status_code", answer) for answer in answers] == [200] * 8
    assert all("正定县同时打开的项目" in answer.content.decode() for answer in answers)
    assert len(rendered) == 1, len(rendered)
    # An invalid request's page is not kept, and whoever waited for it renders their own.
    for _again in range(2):
        assert clients[0].get(reverse("project_list"), {"light": "purple"}).status_code == 400
    assert len(rendered) == 3


def test_eight_users_opening_cold_pages_at_once_count_their_menus_piece_once(on_postgresql, monkeypatch):
    """Issue 24: after a write, a county's users open their pages at the same moment. The list's body was drawn once,
    but each user's menu counted their 待办 anew, and each of them the county's piece of it: eight times the same
    queries. The piece is now counted once and the others wait for it; each user's number is still their own. A write
    of many places (an import) leaves it to them; a report counts it itself when it commits, and they count nothing."""
    import time

    from projects.inbox import reads
    from projects.shared import versions

    editors = [make_user(f"zd-menu{index}", Role.COUNTY_EDITOR, "130123") for index in range(8)]
    clients = [logged_in(editor) for editor in editors]
    monkeypatch.setattr(versions, "PLACES_WRITTEN_AT_MOST", 0)  # as for an import's many places: not counted on write
    make_project("正定县同时打开菜单的项目", "130123")  # the write: the county's pieces are cold
    counted, real = [], reads.read_pieces

    def slow(*args):
        counted.append(1)
        time.sleep(0.3)
        return real(*args)

    monkeypatch.setattr(reads, "read_pieces", slow)
    answers = at_once([lambda client=client: client.get(reverse("project_list")) for client in clients])
    assert [getattr(answer, "status_code", answer) for answer in answers] == [200] * 8
    assert len(counted) == 1, len(counted)
    monkeypatch.undo()
    assert {reads.inbox_count(editor) for editor in editors} == {reads.total(reads.inbox_items(editors[0]))}

    project = make_project("正定县再一个项目", "130123")  # counted by the write, when it commits
    monkeypatch.setattr(reads, "read_pieces", slow)
    answers = at_once([lambda client=client: client.get(reverse("project_list")) for client in clients])
    assert [getattr(answer, "status_code", answer) for answer in answers] == [200] * 8
    assert len(counted) == 1 and all(project.name in answer.content.decode() for answer in answers)


def test_one_user_opening_eight_cold_pages_at_once_counts_the_menu_once(on_postgresql, monkeypatch):
    """A user who opens several pages at once after a write (tabs, a reload while one loads): their 待办 number is
    counted by one of them, which the others wait for."""
    import time

    from projects.inbox import reads

    editor = make_user("zd-tabs", Role.COUNTY_EDITOR, "130123")
    clients = [logged_in(editor) for _index in range(8)]
    make_project("正定县同时打开多页的项目", "130123")
    counted, real = [], reads.inbox_items

    def slow(*args, **kwargs):
        counted.append(1)
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(reads, "inbox_items", slow)
    answers = at_once([lambda client=client: client.get(reverse("project_list")) for client in clients])
    assert [getattr(answer, "status_code", answer) for answer in answers] == [200] * 8
    assert len(counted) == 1, len(counted)


def test_eight_users_opening_a_cold_dashboard_at_once_draw_it_once(on_postgresql, monkeypatch):
    """Issue 24: after a write, a county's users open the dashboard at the same moment. One draws its body; the
    others wait for it. Each drew its own before: the summary was computed once, but eight bodies were built."""
    import time

    from projects.pages import dashboard

    editors = [make_user(f"zd-dash{index}", Role.COUNTY_EDITOR, "130123") for index in range(8)]
    clients = [logged_in(editor) for editor in editors]
    make_project("正定县同时打开驾驶舱的项目", "130123")  # the write: the county's kept dashboard is cold
    drawn, real = [], dashboard._dashboard_context

    def slow(request, **kwargs):
        drawn.append(1)
        time.sleep(0.3)
        return real(request, **kwargs)

    monkeypatch.setattr(dashboard, "_dashboard_context", slow)
    answers = at_once([lambda client=client: client.get(reverse("dashboard")) for client in clients])
    assert [getattr(answer, "status_code", answer) for answer in answers] == [200] * 8
    assert len(drawn) == 1, len(drawn)
    assert clients[0].get(reverse("dashboard")).status_code == 200  # kept: drawn no more
    assert len(drawn) == 1


def test_a_dashboard_read_while_a_write_is_uncommitted_is_not_served_after_the_commit(on_postgresql):
    """Two people at once, two connections: a long write (an import, a batch of reports) moves the data versions
    inside its transaction; a reader before its commit sees the new versions but the rows before the write, and keeps
    what it summed under them. Once the write commits, the next reader must see it. Before, the reader's sums were
    served until the next write in the county (minutes to an hour)."""
    import datetime
    import threading

    from django.db import connection, transaction

    from projects.models import AnnualPlan
    from projects.shared.editing import progress_refresh

    reader = logged_in(make_user("zd-reader", Role.COUNTY_EDITOR, "130123"))
    project = make_project("正定县长事务中的项目", "130123")
    year = this_month().year
    AnnualPlan.objects.create(project=project, year=year, planned_investment=Decimal("1000"))
    progress_refresh(projects=[project.pk])

    def completed():
        response = reader.get("/api/v1/dashboard/", {"year": year})
        assert response.status_code == 200
        return Decimal(str(response.json()["totals"]["completed"]))

    before = completed()
    written, read = threading.Event(), threading.Event()

    def write():
        try:
            with transaction.atomic():
                MonthlyReport.objects.create(project=project, month=datetime.date(year, 1, 1), completed_investment=Decimal("40"))
                progress_refresh(projects=[project.pk])
                written.set()
                read.wait(timeout=30)  # committed once the reader has read (and kept) the county's sums
        finally:
            connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert written.wait(timeout=30)
        assert completed() == before  # not committed yet: the rows before the write
    finally:
        read.set()
        writer.join(timeout=60)
    assert not writer.is_alive()
    assert completed() == before + Decimal("40")
