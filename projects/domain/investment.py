"""The investment-promotion lifecycle (招商引资项目, SPEC §2; issue 25): signed → registered → started → in
production, or terminated; where an investor comes from; and when a signed item is behind because it is not
registered in time.

The stage is derived from the project's dates, one rule in two forms held to agree by a test: `investment_stage()`
in Python and `investment_stage_expression()`, the SQL the database keeps in a generated column (so that every
write path — a form, the list import's bulk upsert, the demo's COPY, an UPDATE — leaves it right, and lists
filter and count by it from an index). 开工 is the project's own actual start (实际开工), not a second date.

The lifecycle applies to a project that has any of its own dates (signing, registration, production,
termination): those are entered for 招商引资 items only, so a project with an actual start and nothing else
has no lifecycle stage.

Part of the domain core: it imports nothing of the project above it.
"""

import calendar
import datetime

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When

from projects.domain.choices import InvestmentStage, InvestorSource

# --- The stage -------------------------------------------------------------------------------------------


def investment_stage(*, signed_on, registered_on, started_on, production_on, terminated_on):
    """The stage the dates say ("" when the project has none of the lifecycle's own dates)."""
    if signed_on is None and registered_on is None and production_on is None and terminated_on is None:
        return ""
    if terminated_on is not None:
        return InvestmentStage.TERMINATED.value
    if production_on is not None:
        return InvestmentStage.IN_PRODUCTION.value
    if started_on is not None:
        return InvestmentStage.STARTED.value
    if registered_on is not None:
        return InvestmentStage.REGISTERED.value
    return InvestmentStage.SIGNED.value


def investment_stage_expression():
    """investment_stage() as SQL over the project's columns (a generated column's expression: immutable)."""
    return Case(
        When(
            Q(signed_on__isnull=True, registered_on__isnull=True, production_on__isnull=True, terminated_on__isnull=True),
            then=Value(""),
        ),
        When(terminated_on__isnull=False, then=Value(InvestmentStage.TERMINATED.value)),
        When(production_on__isnull=False, then=Value(InvestmentStage.IN_PRODUCTION.value)),
        When(actual_start__isnull=False, then=Value(InvestmentStage.STARTED.value)),
        When(registered_on__isnull=False, then=Value(InvestmentStage.REGISTERED.value)),
        default=Value(InvestmentStage.SIGNED.value),
        output_field=models.CharField(max_length=20),
    )


# What the 招商 offices are judged on counts an item that went further too: 履约 (registered) includes the
# started and in production, 开工 the in production.
REGISTERED_OR_LATER = (InvestmentStage.REGISTERED, InvestmentStage.STARTED, InvestmentStage.IN_PRODUCTION)
STARTED_OR_LATER = (InvestmentStage.STARTED, InvestmentStage.IN_PRODUCTION)


# --- Behind: signed, not registered within N months -------------------------------------------------------


def months_before(day, months):
    """The same day `months` months before `day` (the month's last day when it has no such day)."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def registration_cutoff(on, months=None):
    """A project signed before this day and still only signed on `on` is behind
    (INVESTMENT_REGISTER_WITHIN_MONTHS after its signing)."""
    months = settings.INVESTMENT_REGISTER_WITHIN_MONTHS if months is None else months
    return months_before(on, months)


def registration_overdue(*, investment_stage, signed_on, on, months=None):
    """Signed, not registered (nor further), and signed more than N months before `on`."""
    return (
        investment_stage == InvestmentStage.SIGNED
        and signed_on is not None
        and signed_on < registration_cutoff(on, months)
    )


def registration_overdue_q(on, months=None, prefix=""):
    """The same rule in SQL."""
    return Q(**{f"{prefix}investment_stage": InvestmentStage.SIGNED.value,
                f"{prefix}signed_on__lt": registration_cutoff(on, months)})


# --- Where the investor comes from ---------------------------------------------------------------------------

BEIJING_TIANJIN = ("北京", "天津", "京津")
HEBEI = ("河北", "冀", "石家庄", "唐山", "秦皇岛", "邯郸", "邢台", "保定", "张家口", "承德", "沧州", "廊坊", "衡水",
         "雄安", "定州", "辛集")
ABROAD = ("香港", "澳门", "台湾", "境外", "国外", "海外", "外资", "美国", "日本", "韩国", "德国", "法国", "英国", "意大利",
          "荷兰", "瑞士", "瑞典", "丹麦", "芬兰", "挪威", "西班牙", "奥地利", "比利时", "新加坡", "马来西亚", "泰国",
          "印度", "以色列", "俄罗斯", "加拿大", "澳大利亚", "新西兰", "阿联酋", "沙特")
OTHER_PROVINCES = ("上海", "重庆", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西",
                   "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "四川", "贵州", "云南", "西藏", "陕西", "甘肃",
                   "青海", "宁夏", "新疆", "深圳", "广州", "杭州", "南京", "苏州", "青岛", "济南", "郑州", "武汉", "成都",
                   "西安", "厦门", "宁波", "大连", "沈阳", "长沙", "合肥", "无锡")


# The places each source is told by, abroad first (香港 before 北京 in 香港北京路…).
PLACES = ((ABROAD, InvestorSource.ABROAD), (BEIJING_TIANJIN, InvestorSource.BEIJING_TIANJIN),
          (HEBEI, InvestorSource.IN_PROVINCE), (OTHER_PROVINCES, InvestorSource.OTHER_PROVINCE))


def investor_source_of(region):
    """京津 / 省内 / 省外 / 境外 from where the investor is (投资方所在地, e.g. 北京市海淀区, 广东省深圳市,
    香港); "" when the words name none of them (then the source is left to be chosen)."""
    text = (region or "").strip()
    if not text:
        return ""
    for words, source in PLACES:
        if any(word in text for word in words):
            return source.value
    return ""


def investor_source_from(*, region, investor):
    """The source of an investor with no source chosen: from where it is (投资方所在地), else from the place its
    registered name begins with (北京某汽车集团有限公司 → 京津; a Chinese company name starts with where it is
    registered). A name that merely mentions a place elsewhere (中国石化北京分公司) says nothing."""
    source = investor_source_of(region)
    if source:
        return source
    name = (investor or "").strip()
    for words, source in PLACES:
        if name.startswith(words):
            return source.value
    return ""