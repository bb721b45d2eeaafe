"""The 招商引资 card (issue 25) on the dashboard, in the API and in the digests: signed items of the year,
履约率 (registered or further ÷ signed), 开工率, 资金到位率 (funds in place ÷ contract amounts), by investor
source, and the items overdue for registration; every figure counted by hand and each link giving exactly
its projects on the list."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from projects.domain import rules
from projects.domain.choices import InvestorSource, ReviewStatus
from projects.models import MonthlyReport, Programme
from projects.shared import editing

from .conftest import NANGONG, QIAOXI_SJZ, ZHENGDING, make_project
from .test_access import client_for

pytestmark = pytest.mark.django_db


def signed_item(name, county, *, signed_on, source="", amount=None, registered_on=None, actual_start=None,
                production_on=None, terminated_on=None, funds=()):
    """A 招商引资 item with its lifecycle dates and the funds in place its approved reports gave."""
    project = make_project(name, county, signed_on=signed_on, investor=f"{name}投资方", investor_source=source,
                           contract_amount=amount, registered_on=registered_on, actual_start=actual_start,
                           production_on=production_on, terminated_on=terminated_on)
    project.programmes.add(Programme.objects.get(code="investment-promotion"))
    for month, amount_in_place in funds:
        MonthlyReport.objects.create(project=project, month=month, completed_investment=Decimal("1"),
                                     funds_in_place=Decimal(amount_in_place), review_status=ReviewStatus.APPROVED)
    editing.progress_refresh(projects=[project.pk])
    return project


@pytest.fixture
def pipeline(db):
    """A year's signed items in three counties of every stage and source, one of last year, one overdue."""
    today = rules.today()
    year = today.year
    jan = datetime.date(year, 1, 10)
    month = datetime.date(year, 1, 1)
    return {
        "signed": signed_item("京津签约甲", ZHENGDING, signed_on=jan, source=InvestorSource.BEIJING_TIANJIN, amount="50000"),
        "registered": signed_item("京津注册乙", ZHENGDING, signed_on=jan, source=InvestorSource.BEIJING_TIANJIN, amount="30000",
                                  registered_on=jan, funds=[(month, "6000")]),
        "started": signed_item("省外开工丙", QIAOXI_SJZ, signed_on=jan, source=InvestorSource.OTHER_PROVINCE, amount="20000",
                               registered_on=jan, actual_start=jan, funds=[(month, "4000"), (month.replace(month=2), "1000")]),
        "production": signed_item("境外投产丁", NANGONG, signed_on=jan, source=InvestorSource.ABROAD, amount="10000",
                                  registered_on=jan, actual_start=jan, production_on=jan, funds=[(month, "10000")]),
        "terminated": signed_item("未填终止戊", NANGONG, signed_on=jan, amount="5000", terminated_on=jan),
        # Signed last year long enough ago to be overdue for registration: not among this year's, but overdue.
        "last_year": signed_item("去年签约己", ZHENGDING, signed_on=datetime.date(year - 1, 1, 5),
                                 source=InvestorSource.IN_PROVINCE, amount="8000"),
        "not_investment": make_project("普通项目庚", ZHENGDING),
    }


@pytest.fixture
def register_within_months(settings):
    """Items signed in January are overdue whatever today is: registration within 0 months."""
    settings.INVESTMENT_REGISTER_WITHIN_MONTHS = 0


def listed(client, href):
    """The names of the projects the list shows behind a link."""
    page = client.get(href)
    assert page.status_code == 200
    return {project.name for project in page.context["page"]}


@pytest.mark.usefixtures("register_within_months")
def test_the_card_counts_by_hand_and_each_figure_lists_exactly_its_projects(users, pipeline):
    client = client_for(users["province_admin"])
    with translation.override("zh-hans"):
        page = client.get(reverse("dashboard"))
    card = page.context["investment"]
    total = card["total"]
    assert (total["signed"], total["registered"], total["started"], total["in_production"], total["terminated"]) == (5, 3, 2, 1, 1)
    assert total["contract"] == Decimal("115000")
    assert total["funds"] == Decimal("21000")
    assert total["registered_rate"] == Decimal(300) / 5 and total["started_rate"] == Decimal(200) / 5
    assert total["funds_rate"] == Decimal("21000") * 100 / Decimal("115000")
    assert card["overdue"] == 2  # signed, not registered: 京津签约甲 and last year's item
    by_source = {row["source"]: row for row in card["sources"]}
    assert by_source[InvestorSource.BEIJING_TIANJIN]["signed"] == 2
    assert by_source[InvestorSource.BEIJING_TIANJIN]["registered_rate"] == Decimal(50)
    assert by_source[InvestorSource.IN_PROVINCE]["signed"] == 0  # last year's item is not this year's
    assert by_source[""]["signed"] == 1 and by_source[""]["links"] is None

    names = {key: project.name for key, project in pipeline.items()}
    this_year = {names[key] for key in ("signed", "registered", "started", "production", "terminated")}
    assert listed(client, card["links"]["signed"]) == this_year
    assert listed(client, card["links"]["registered"]) == {names["registered"], names["started"], names["production"]}
    assert listed(client, card["links"]["started"]) == {names["started"], names["production"]}
    assert listed(client, card["links"]["in_production"]) == {names["production"]}
    assert listed(client, card["links"]["terminated"]) == {names["terminated"]}
    assert listed(client, by_source[InvestorSource.BEIJING_TIANJIN]["links"]["registered"]) == {names["registered"]}
    assert listed(client, card["overdue_link"]) == {names["last_year"], names["signed"]}
    # The page shows the figures with their links.
    html = page.content.decode()
    assert re.search(r'data-investment="signed">5<', html) and 'data-investment="registered-rate">60.0%<' in html


@pytest.mark.usefixtures("register_within_months")
def test_a_county_sees_its_own_items_only(users, pipeline):
    page = client_for(users["county_editor"]).get(reverse("dashboard"))
    total = page.context["investment"]["total"]
    assert (total["signed"], total["registered"], total["contract"]) == (2, 1, Decimal("80000"))
    assert page.context["investment"]["overdue"] == 2  # 京津签约甲 and last year's item, both of 正定


def test_the_card_is_not_shown_where_there_are_no_signed_items(users, projects):
    page = client_for(users["county_editor"]).get(reverse("dashboard"))
    assert page.context["investment"]["total"]["signed"] == 0
    assert "investment-card" not in page.content.decode()


@pytest.mark.usefixtures("register_within_months")
def test_a_report_moves_the_card_at_once(users, pipeline):
    """The card is summed per region and cached: a report of funds in place in 正定 shows on the province's
    dashboard at the next look."""
    client = client_for(users["province_admin"])
    assert client.get(reverse("dashboard")).context["investment"]["total"]["funds"] == Decimal("21000")
    registered = pipeline["registered"]
    MonthlyReport.objects.create(project=registered, month=datetime.date(rules.today().year, 2, 1), completed_investment=Decimal("1"),
                                 funds_in_place=Decimal("500"), review_status=ReviewStatus.APPROVED)
    editing.progress_refresh(projects=[registered.pk])
    assert client.get(reverse("dashboard")).context["investment"]["total"]["funds"] == Decimal("21500")


@pytest.mark.usefixtures("register_within_months")
def test_the_api_gives_the_card(users, pipeline):
    client = client_for(users["province_admin"])
    body = client.get("/api/v1/dashboard/").json()
    assert body["investment"]["total"]["signed"] == 5
    assert body["investment"]["overdue"] == 2
    assert {row["source"] for row in body["investment"]["sources"]} >= {"beijing_tianjin", "abroad", ""}


@pytest.mark.usefixtures("register_within_months")
def test_the_digest_shows_the_card(users, pipeline, settings):
    from projects.mail import digests
    from projects.models import DigestSubscription

    settings.SITE_URL = "https://tracker.example"
    subscription = DigestSubscription.objects.create(user=users["province_admin"], frequency="weekly")
    today = rules.today()
    period = digests.Period("weekly", today - datetime.timedelta(days=6), today)
    subject, text, html = digests.digest_render(subscription, period, shared=False)
    assert "招商引资" in text and "签约项目 5 个" in text and "履约率 60.0%" in text
    assert "签约逾期未注册 2 个 https://tracker.example/projects/?registration_overdue=true" in text
    assert "京津：签约 2 个" in text
    assert "招商引资" in html
