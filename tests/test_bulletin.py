"""The monthly bulletin (调度通报, issue 28): its content opened with python-docx and held against what the
dashboard and the summaries show for the same scope and month, its fonts and page, the bulletins page (generate,
keep, download, who may), the beat task's day on the working-day calendar, and the monthly digest's attachment."""

import datetime
import hashlib
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from docx import Document
from docx.oxml.ns import qn

from projects.bulletin import content, reads, services
from projects.dispatch.reminders import missing_reports
from projects.domain import rules
from projects.domain.choices import DigestFrequency, Role, Status
from projects.mail import digests
from projects.models import AnnualPlan, Bulletin, DigestSubscription, MonthlyReport, Project, Region
from projects.rankings.reads import unit_ranking
from projects.shared.editing import progress_refresh

from .conftest import NANGONG, SHIJIAZHUANG, XINGTAI, make_project, make_user
from .test_access import client_for

D = datetime.date


@pytest.fixture(autouse=True)
def bulletin_root(settings, tmp_path):
    """Every test keeps its bulletins under its own temporary directory."""
    root = tmp_path / "bulletins"
    settings.STORAGES = {**settings.STORAGES, "bulletins": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}}}
    settings.LANGUAGE_CODE = "zh-hans"
    return root


@pytest.fixture
def scene(users, projects):
    """The conftest's three projects, and a red one in 正定 (停缓建) and in 南宫 (far behind), 桥西 reported
    this month."""
    year = rules.today().year
    stalled = make_project("正定县停建物流园项目", "130123", status=Status.STALLED)
    behind = make_project("南宫市落后项目", NANGONG)
    AnnualPlan.objects.create(project=behind, year=year, planned_investment=Decimal("50000"))
    AnnualPlan.objects.create(project=stalled, year=year, planned_investment=Decimal("3000"))
    MonthlyReport.objects.create(project=projects["qiaoxi"], month=rules.month_start(rules.today()),
                                 completed_investment=Decimal("40"))
    progress_refresh()
    return {"stalled": stalled, "behind": behind, **projects}


def open_docx(data):
    return Document(io.BytesIO(data))


def tables_by_head(document):
    """{first header cell: [rows of cell texts]} of the document's tables."""
    found = {}
    for grid in document.tables:
        rows = [[cell.text for cell in row.cells] for row in grid.rows]
        found[rows[0][0]] = rows
    return found


def document_text(document):
    return "\n".join(paragraph.text for paragraph in document.paragraphs)


def generate(client, *, month=None, region=None):
    month = month or rules.month_start(rules.today())
    data = {"month": f"{month:%Y-%m}"}
    if region is not None:
        data["region"] = region.pk
    return client.post(reverse("bulletins"), data)


# --- Content against the dashboard ------------------------------------------------------------------------


def test_the_province_bulletin_shows_the_dashboards_figures_red_list_and_missing_reports(users, scene):
    """This month's bulletin is judged today, as the dashboard is: the same totals, lights and red projects."""
    client = client_for(users["province_admin"])
    assert generate(client).status_code == 302
    bulletin = Bulletin.objects.get()
    document = open_docx(services.bulletin_bytes(bulletin))
    dashboard = client.get(reverse("dashboard")).context
    totals = dashboard["totals"]
    tables = tables_by_head(document)

    figures = dict(row for row in tables["指标"][1:])
    assert figures["项目数（个）"] == f"{totals['count']:,}" == "5"
    assert figures["总投资（亿元）"] == content.yi(totals["total_investment"])
    assert figures["年度计划投资（亿元）"] == content.yi(totals["plan"])
    assert figures["本年完成投资（亿元）"] == content.yi(totals["completed"])
    assert figures["投资完成率"] == content.pct(totals["rate"])
    assert figures["时序进度"] == content.pct(dashboard["time_progress"])
    assert figures["红灯 / 黄灯 / 绿灯（个）"] == f"{totals['red']} / {totals['yellow']} / {totals['green']}"

    red = tables["序号"]
    assert [row[1] for row in red[1:]] == [row["project"].name for row in dashboard["red_projects"]]
    assert {row[1] for row in red[1:]} >= {"正定县停建物流园项目", "南宫市落后项目"}
    assert dict((row[1], row[4]) for row in red[1:])["正定县停建物流园项目"] == "停缓建"

    # Reports of this month still missing, by unit: every project but 桥西's; the units add up to the cycle.
    month = rules.month_start(rules.today())
    missing = tables["市"]
    by_unit = {row[1]: int(row[3]) for row in missing[1:]}
    assert by_unit == {"正定县": 2, "南宫市": 2}  # the stalled one owes a report too (under construction)
    assert sum(by_unit.values()) == missing_reports(month, Project.objects.all()).count()
    assert bulletin.reports_counted == 1

    # The areas (分市情况) as the dashboard's.
    areas = {row[0]: row[1] for row in tables["地区"][1:]}
    assert areas == {str(row["label"]): str(row["count"]) for row in dashboard["areas"]}

    text = document_text(document)
    assert "河北省重点项目调度通报" in text
    assert f"{month.year}年第{month.month}期" in text
    assert "河北省发展和改革委员会" in text


def test_the_ranking_table_is_the_rankings(users, scene):
    month = rules.month_start(rules.today())
    bulletin = services.bulletin_generate(region=Region.objects.get(code="130000"), month=month)
    tables = tables_by_head(open_docx(services.bulletin_bytes(bulletin)))
    ranking = unit_ranking(reads.scope_reader(Region.objects.get(code="130000")), month=month, level="city")
    rows = tables["排名"][1:]
    assert [row[1] for row in rows] == [str(row.region) for row in ranking.rows]
    assert len(rows) == Region.objects.city_level().count()
    for row, unit in zip(rows, ranking.rows):
        assert row[0] == (str(unit.rank) if unit.ranked and unit.rank is not None else "—")
    weighted = [label for _indicator, label, weight in ranking.weights if weight]
    assert tables["排名"][0][4:] == weighted


def test_a_city_bulletin_holds_only_the_city(users, scene):
    bulletin = services.bulletin_generate(region=Region.objects.get(code=SHIJIAZHUANG), month=rules.today())
    document = open_docx(services.bulletin_bytes(bulletin))
    text = document_text(document) + str(tables_by_head(document))
    assert "石家庄市重点项目调度通报" in text
    assert "南宫市落后项目" not in text and "南宫市" not in text
    tables = tables_by_head(document)
    assert dict(row for row in tables["指标"][1:])["项目数（个）"] == "3"
    dashboard = client_for(users["city_coordinator"]).get(reverse("dashboard")).context
    assert [row[1] for row in tables["序号"][1:]] == [row["project"].name for row in dashboard["red_projects"]]
    assert "正定县停建物流园项目" in [row[1] for row in tables["序号"][1:]]
    assert "正定县" in {row[1] for row in tables["排名"][1:]}


def test_fonts_and_page_are_set_for_word_and_wps(users, scene):
    bulletin = services.bulletin_generate(region=Region.objects.get(code="130000"), month=rules.today())
    document = open_docx(services.bulletin_bytes(bulletin))

    def east_asia(style):
        return document.styles[style].element.rPr.rFonts.get(qn("w:eastAsia"))

    assert east_asia("Normal") == "仿宋_GB2312"
    assert east_asia("Heading 1") == "黑体"
    assert east_asia("Title") == "方正小标宋简体"
    # No theme font left to override the named one.
    assert document.styles["Heading 1"].element.rPr.rFonts.get(qn("w:eastAsiaTheme")) is None
    table = next(p for p in document.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml").blob.decode()
    assert 'w:name="仿宋_GB2312"' in table and 'w:altName w:val="仿宋"' in table
    assert 'w:altName w:val="黑体,宋体"' in table
    first = document.sections[0]
    assert (round(first.page_width.mm), round(first.page_height.mm)) == (210, 297)
    assert [round(value.mm) for value in (first.top_margin, first.bottom_margin, first.left_margin, first.right_margin)] == [37, 35, 28, 26]


def test_an_english_requester_gets_an_english_bulletin(users, scene):
    client = client_for(users["province_admin"])
    client.cookies["django_language"] = "en"
    generate(client)
    tables = tables_by_head(open_docx(services.bulletin_bytes(Bulletin.objects.get())))
    areas = [row[0] for row in next(rows for head, rows in tables.items() if "Shijiazhuang" in str(rows))[1:]]
    assert "Shijiazhuang" in " ".join(areas)
    chinese = services.bulletin_generate(region=Region.objects.get(code="130000"), month=rules.today())
    assert "石家庄市" in str(tables_by_head(open_docx(services.bulletin_bytes(chinese))))


# --- The page -------------------------------------------------------------------------------------------


def test_a_city_generates_keeps_and_downloads_its_bulletin(users, scene):
    client = client_for(users["city_coordinator"])
    response = generate(client, month=D(2026, 10, 1))
    assert response.status_code == 302
    bulletin = Bulletin.objects.get()
    assert (bulletin.region.code, bulletin.year, bulletin.month, bulletin.number) == (SHIJIAZHUANG, 2026, 10, "2026年第10期")
    assert bulletin.generated_by == users["city_coordinator"] and bulletin.data_version and bulletin.size > 0
    download = client.get(reverse("bulletin_file", args=[bulletin.pk]))
    assert download.status_code == 200
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == bulletin.sha256 and len(data) == bulletin.size
    assert "attachment" in download["Content-Disposition"]
    page = client.get(reverse("bulletins")).content.decode()
    assert "2026年第10期" in page and reverse("bulletin_file", args=[bulletin.pk]) in page and "sjz" in page

    # Every generation is kept; the newest first.
    generate(client, month=D(2026, 10, 1))
    assert Bulletin.objects.count() == 2


def test_who_may_read_and_generate(users, scene):
    bulletin = services.bulletin_generate(region=Region.objects.get(code=SHIJIAZHUANG), month=D(2026, 10, 1))
    url = reverse("bulletin_file", args=[bulletin.pk])
    county = client_for(users["county_editor"])
    assert county.get(reverse("bulletins")).status_code == 403
    assert generate(county).status_code == 403
    assert county.get(url).status_code == 403
    other_city = client_for(make_user("xt", Role.CITY_COORDINATOR, XINGTAI))
    assert other_city.get(url).status_code == 404
    assert "2026年第10期" not in other_city.get(reverse("bulletins")).content.decode()
    # A city cannot generate another scope's bulletin.
    generate(other_city, region=Region.objects.get(code=SHIJIAZHUANG))
    assert not Bulletin.objects.filter(region__code=SHIJIAZHUANG).exclude(pk=bulletin.pk).exists()
    leader = client_for(users["leader"])
    assert leader.get(url).status_code == 200
    page = leader.get(reverse("bulletins")).content.decode()
    assert "定时任务" in page and 'name="month"' not in page
    assert generate(leader).status_code == 403
    # The province generates any scope's.
    generate(client_for(users["province_admin"]), region=Region.objects.get(code=XINGTAI))
    assert Bulletin.objects.filter(region__code=XINGTAI, generated_by=users["province_admin"]).exists()


def test_the_nav_links_the_page_for_province_and_city_not_counties(users):
    assert reverse("bulletins") in client_for(users["city_coordinator"]).get(reverse("dashboard")).content.decode()
    assert reverse("bulletins") not in client_for(users["county_editor"]).get(reverse("dashboard")).content.decode()


# --- The beat task --------------------------------------------------------------------------------------


@pytest.fixture
def two_scopes(monkeypatch):
    """The province and 石家庄 only: the rule is the same for every scope, and generating fifteen is slow."""
    scopes = [Region.objects.get(code="130000"), Region.objects.get(code=SHIJIAZHUANG)]
    monkeypatch.setattr(reads, "bulletin_scopes", lambda: scopes)
    return scopes


def test_the_task_generates_once_per_scope_on_the_first_working_day_after_the_deadline(settings, users, projects):
    from projects.tasks import generate_bulletins

    settings.MONTHLY_REPORT_DEADLINE_DAY, settings.MONTHLY_REPORT_DEADLINE_MODE = 5, "calendar"
    # October 2026's reports are due Thursday 11-05: its bulletins are generated Friday 11-06.
    assert generate_bulletins.apply(kwargs={"run_date": "2026-11-05"}).get() == "not a bulletin day"
    assert not Bulletin.objects.exists()
    assert generate_bulletins.apply(kwargs={"run_date": "2026-11-06"}).get() == [f"2026-10: {len(reads.bulletin_scopes())} generated"]
    kept = Bulletin.objects.all()
    assert {bulletin.region for bulletin in kept} == set(reads.bulletin_scopes())
    assert {(b.year, b.month, b.generated_by) for b in kept} == {(2026, 10, None)}
    assert generate_bulletins.apply(kwargs={"run_date": "2026-11-06"}).get() == ["2026-10: 0 generated"]
    assert Bulletin.objects.count() == len(reads.bulletin_scopes())
    assert generate_bulletins.apply(kwargs={"run_date": "2026-11-09"}).get() == "not a bulletin day"


def test_a_holiday_moves_the_bulletin_day(settings, users, projects, two_scopes):
    from projects.tasks import generate_bulletins

    settings.MONTHLY_REPORT_DEADLINE_DAY, settings.MONTHLY_REPORT_DEADLINE_MODE = 5, "calendar"
    # September 2025's reports: 10-05 falls in the National Day holiday, due 10-09, the bulletin 10-10.
    assert reads.months_due(D(2025, 10, 6)) == []
    assert reads.months_due(D(2025, 10, 10)) == [D(2025, 9, 1)]
    assert generate_bulletins.apply(kwargs={"run_date": "2025-10-06"}).get() == "not a bulletin day"
    generate_bulletins.apply(kwargs={"run_date": "2025-10-10"})
    assert set(Bulletin.objects.values_list("year", "month")) == {(2025, 9)}
    # The same day as the monthly digest, always.
    for month in (D(2025, 9, 1), D(2026, 1, 1), D(2026, 9, 1)):
        assert reads.bulletin_day(month) == digests.send_day(digests.period_from_start(DigestFrequency.MONTHLY, month))


def test_an_operators_bulletin_does_not_stop_the_tasks(settings, users, projects, two_scopes):
    province, city = two_scopes
    services.bulletin_generate(region=city, month=D(2026, 10, 1), user=users["city_coordinator"])
    made = services.bulletins_ensure(D(2026, 10, 1))
    assert {bulletin.region for bulletin in made} == {province, city}


# --- The monthly digest carries it ------------------------------------------------------------------------


def test_the_monthly_digest_carries_the_bulletin_for_province_and_city_not_county(
        settings, users, projects, two_scopes, django_capture_on_commit_callbacks):
    from projects.tasks import dispatch_digests

    settings.MONTHLY_REPORT_DEADLINE_DAY, settings.MONTHLY_REPORT_DEADLINE_MODE = 5, "calendar"
    for user in (users["leader"], users["city_coordinator"], users["county_editor"]):
        DigestSubscription.objects.create(user=user, frequency=DigestFrequency.MONTHLY)
    # No bulletin was generated yet (the 07:30 run did not happen): the digest's dispatch generates it first.
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_digests.apply(kwargs={"frequency": "monthly", "run_date": "2026-11-06"})
    sent = {message.to[0]: message for message in mail.outbox}
    assert set(sent) == {"boss@example.org", "sjz@example.org", "zd@example.org"}
    assert sent["zd@example.org"].attachments == []
    for address, code in (("boss@example.org", "130000"), ("sjz@example.org", SHIJIAZHUANG)):
        [(filename, data, mimetype)] = sent[address].attachments
        bulletin = Bulletin.objects.filter(region__code=code, year=2026, month=10).latest("generated_at")
        assert filename.endswith(".docx") and "2026年第10期" in filename
        assert mimetype == services.DOCX_TYPE
        assert hashlib.sha256(data).hexdigest() == bulletin.sha256
        assert "2026年第10期" in document_text(open_docx(data))


def test_a_monthly_digest_without_a_kept_bulletin_still_sends(users, projects):
    subscription = DigestSubscription.objects.create(user=users["leader"], frequency=DigestFrequency.MONTHLY)
    period = digests.period_from_start(DigestFrequency.MONTHLY, D(2026, 10, 1))
    digests.digest_deliver(subscription=subscription, period=period)
    [message] = mail.outbox
    assert message.attachments == [] and "月报" in message.subject


def test_the_newest_kept_bulletin_is_attached(users, projects, two_scopes):
    province = two_scopes[0]
    services.bulletin_generate(region=province, month=D(2026, 10, 1))
    newest = services.bulletin_generate(region=province, month=D(2026, 10, 1), user=users["province_admin"])
    services.bulletin_generate(region=province, month=D(2026, 9, 1), user=users["province_admin"])  # another month
    period = digests.period_from_start(DigestFrequency.MONTHLY, D(2026, 10, 1))
    filename, data, _mimetype = digests.bulletin_attachment(users["leader"], period)
    assert hashlib.sha256(data).hexdigest() == newest.sha256
    assert digests.bulletin_attachment(users["county_editor"], period) is None


def test_the_admin_lists_bulletins_read_only_within_the_scope(users, projects):
    kept = services.bulletin_generate(region=Region.objects.get(code=SHIJIAZHUANG), month=D(2026, 10, 1))
    url = reverse("admin:projects_bulletin_changelist")
    page = client_for(users["province_admin"]).get(url)
    assert page.status_code == 200 and reverse("bulletin_file", args=[kept.pk]) in page.content.decode()
    assert client_for(users["province_admin"]).get(reverse("admin:projects_bulletin_change", args=[kept.pk])).status_code == 200
    assert client_for(users["county_editor"]).get(url).status_code == 403
    other = client_for(make_user("xt", Role.CITY_COORDINATOR, XINGTAI)).get(url)
    assert reverse("bulletin_file", args=[kept.pk]) not in other.content.decode()


def test_a_missed_bulletin_day_is_made_up_with_the_late_monthly_digest(
        settings, users, projects, two_scopes, monkeypatch, django_capture_on_commit_callbacks):
    """No worker all the bulletin day (the same day as the monthly digest): the catch-up that sends the digest
    late makes the bulletins first, so the late digest carries its bulletin like the punctual one."""
    from projects.models import DeliveryStatus, DigestDelivery
    from projects.reference.schedules import beat_schedules_ensure
    from projects.tasks import catch_up_digests

    settings.MONTHLY_REPORT_DEADLINE_DAY, settings.MONTHLY_REPORT_DEADLINE_MODE = 5, "calendar"
    beat_schedules_ensure()
    subscription = DigestSubscription.objects.create(user=users["leader"], frequency=DigestFrequency.MONTHLY)
    september = digests.period_from_start(DigestFrequency.MONTHLY, D(2026, 9, 1))
    DigestDelivery.objects.create(user=subscription.user, kind="monthly", period_start=september.start,
                                  period_end=september.end, due_on=digests.send_day(september), status=DeliveryStatus.SENT)
    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 9))  # the bulletin day, 11-06, passed with nothing run
    with django_capture_on_commit_callbacks(execute=True):
        catch_up_digests.apply()
    [message] = mail.outbox
    [(filename, data, _mimetype)] = message.attachments
    assert "2026年第10期" in filename
    assert set(Bulletin.objects.filter(year=2026, month=10).values_list("region__code", flat=True)) == {"130000", SHIJIAZHUANG}


def test_a_queued_bulletin_run_works_on_the_day_it_was_queued(monkeypatch):
    """Beat queues it at 07:30; a worker that gets it after midnight still makes that day's bulletins."""
    from celery import signals

    monkeypatch.setattr(rules, "today", lambda: D(2026, 11, 6))
    body = ((), {}, {})
    signals.before_task_publish.send(sender="projects.tasks.generate_bulletins", body=body, headers={})
    assert body[1] == {"run_date": "2026-11-06"}


def test_the_issuing_office_is_set_per_scope(settings, users, scene):
    settings.BULLETIN_ISSUERS = {"130000": "河北省重点项目建设领导小组办公室"}
    assert content.issuer(Region.objects.get(code="130000")) == "河北省重点项目建设领导小组办公室"
    assert content.issuer(Region.objects.get(code=SHIJIAZHUANG)) == "石家庄市发展和改革委员会"
