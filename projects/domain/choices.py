"""The fixed vocabularies of the domain (SPEC §2): stages, statuses, review states, lights and their
reasons, roles, supervision levels and causes, digest frequencies and mail kinds. Stored values are codes;
labels are Chinese through Django's i18n."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    COUNTY = "county", _("县（市、区）")


class SpatialLayout(models.TextChoices):
    """The plan's "一核、两极、四带、多集群" layout (SPEC §2)."""

    CORE = "core", _("一核")
    POLE = "pole", _("两极")
    BELT = "belt", _("四带")
    CLUSTER = "cluster", _("多集群")


class IndustryCategory(models.TextChoices):
    TRADITIONAL = "traditional", _("传统优势产业")
    EMERGING = "emerging", _("战略性新兴产业")
    POTENTIAL = "potential", _("高潜产业")
    FUTURE = "future", _("未来产业")


class Stage(models.TextChoices):
    PREPARATORY = "preparatory", _("前期")
    NEW_START = "new_start", _("新开工")
    CONTINUING = "continuing", _("续建")
    COMPLETED = "completed", _("竣工投产")


# Stages in which a project is being built and so owes a monthly report.
UNDER_CONSTRUCTION = (Stage.NEW_START, Stage.CONTINUING)


class Status(models.TextChoices):
    NORMAL = "normal", _("正常推进")
    BEHIND = "behind", _("进度滞后")
    STALLED = "stalled", _("停缓建")
    CANCELLED = "cancelled", _("已取消")


class Light(models.TextChoices):
    GREEN = "green", _("绿灯")
    YELLOW = "yellow", _("黄灯")
    RED = "red", _("红灯")
    NONE = "none", _("不评价")


class LightReason(models.TextChoices):
    """Why a project has its light; each reason belongs to exactly one light (see rules.LIGHT_OF_REASON)."""

    CANCELLED = "cancelled", _("项目已取消")
    COMPLETED = "completed", _("已竣工投产")
    STALLED = "stalled", _("停缓建")
    NOT_STARTED = "not_started", _("逾期未开工")
    REPORT_OVERDUE = "report_overdue", _("月度调度逾期未报")
    FAR_BEHIND = "far_behind", _("投资完成率严重落后时序进度")
    BEHIND = "behind", _("投资完成率落后时序进度")
    MARKED_BEHIND = "marked_behind", _("标记为进度滞后")
    NOT_REGISTERED = "not_registered", _("签约逾期未注册")  # issue 25: INVESTMENT_REGISTER_WITHIN_MONTHS
    ON_PACE = "on_pace", _("按进度推进")


class InvestmentStage(models.TextChoices):
    """Where an investment-promotion item (招商引资项目) stands: signed → registered → started → in production,
    or terminated. Derived from the project's dates (domain.investment), never typed in."""

    SIGNED = "signed", _("签约")
    REGISTERED = "registered", _("注册")
    STARTED = "started", _("开工")
    IN_PRODUCTION = "in_production", _("投产")
    TERMINATED = "terminated", _("终止")


class InvestorSource(models.TextChoices):
    """Where an investor comes from, as the 招商 offices count signed projects (京津 above all)."""

    BEIJING_TIANJIN = "beijing_tianjin", _("京津")
    IN_PROVINCE = "in_province", _("省内")
    OTHER_PROVINCE = "other_province", _("省外")
    ABROAD = "abroad", _("境外")


class ProblemCategory(models.TextChoices):
    LAND = "land", _("用地")
    FUNDS = "funds", _("资金")
    APPROVAL = "approval", _("审批手续")
    ENVIRONMENT = "environment", _("环评能评")
    DEMOLITION = "demolition", _("征地拆迁")
    ENERGY = "energy", _("能耗指标")
    INFRASTRUCTURE = "infrastructure", _("水电气暖配套")
    OTHER = "other", _("其他")


class ProblemStatus(models.TextChoices):
    OPEN = "open", _("待协调")
    IN_PROGRESS = "in_progress", _("协调中")
    RESOLVED = "resolved", _("已解决")


class Role(models.TextChoices):
    """A user's role is their membership of the Django group of that name (created by load_reference_data)."""

    PROVINCE_ADMIN = "province_admin", _("省级管理员")
    CITY_COORDINATOR = "city_coordinator", _("市级调度员")
    COUNTY_EDITOR = "county_editor", _("县级填报员")
    LEADER = "leader", _("领导（只读）")


class DigestFrequency(models.TextChoices):
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")


class MailKind(models.TextChoices):
    """What a recorded mail delivery is: a digest, or a message of the monthly dispatch cycle."""

    WEEKLY = "weekly", _("周报")
    MONTHLY = "monthly", _("月报")
    REPORT_REMINDER = "report_reminder", _("催报：截止前两个工作日")
    REPORT_DUE = "report_due", _("催报：截止当日")
    REPORT_MISSING = "report_missing", _("逾期未报县（市、区）清单")
    REPORT_RETURNED = "report_returned", _("月报被退回")
    ACCOUNT_OPENED = "account_opened", _("账号开通：设置密码")
    SUPERVISION_ESCALATED = "supervision", _("督办事项升级")
    SUPERVISION_NOTICE = "supervision_step", _("督办事项通知")


class ReviewStatus(models.TextChoices):
    """Where a monthly report stands in review (审核); changed only by projects.reporting."""

    SUBMITTED = "submitted", _("已报送")
    APPROVED = "approved", _("已审核")
    RETURNED = "returned", _("已退回")


# A report in these states counts: its figure is in the totals and the month counts as reported.
COUNTED_REVIEW_STATUSES = (ReviewStatus.SUBMITTED, ReviewStatus.APPROVED)


class ReviewAction(models.TextChoices):
    SUBMIT = "submit", _("报送")
    APPROVE = "approve", _("审核通过")
    RETURN = "return", _("退回")
    REOPEN = "reopen", _("撤销审核")


class SupervisionCause(models.TextChoices):
    """Why a supervision item (督办事项) was opened."""

    RED_LIGHT = "red_light", _("项目亮红灯")
    OLD_PROBLEM = "old_problem", _("问题久拖未决")
    OVERDUE_REPORT = "overdue_report", _("月报逾期未报")
    MANUAL = "manual", _("人工督办")


class SupervisionLevel(models.TextChoices):
    """Who must act on an item, in the order it escalates."""

    COUNTY = "county", _("县级")
    CITY = "city", _("市级")
    PROVINCE = "province", _("省级")
    LEADER = "leader", _("包联领导")


class SupervisionStatus(models.TextChoices):
    """Where an item stands: with the acting level, awaiting the sign-off (销号) of the level above (issue 27),
    or closed."""

    OPEN = "open", _("办理中")
    SIGNOFF = "signoff", _("待销号")
    CLOSED = "closed", _("已办结")


class SupervisionStepKind(models.TextChoices):
    OPENED = "opened", _("督办")
    RESPONSE = "response", _("办理情况")
    ESCALATED = "escalated", _("升级督办")
    CLOSED = "closed", _("办结")
    # Issue 27: the loop closed by the level above.
    CLOSURE_REQUESTED = "requested", _("申请办结")
    SIGNED_OFF = "signed_off", _("销号")
    RETURNED = "returned", _("退回")
    URGED = "urged", _("催办")
    EXTENSION_REQUESTED = "ext_asked", _("申请延期")
    EXTENSION_GRANTED = "ext_grant", _("同意延期")
    EXTENSION_REFUSED = "ext_refuse", _("不同意延期")
    REOPENED = "reopened", _("重新督办")
    ESCALATED_BY_HAND = "esc_hand", _("人工升级")


class RankingIndicator(models.TextChoices):
    """What units are ranked on each month (issue 28); the province weighs them into a composite score."""

    PROGRESS = "progress", _("完成率超时序进度")
    PUNCTUALITY = "punctuality", _("按时报送率")
    RED = "red", _("红灯项目占比")
    YELLOW = "yellow", _("黄灯项目占比")
    NODES_LATE = "nodes_late", _("节点滞后项目占比")
    SUPERVISION_OVERDUE = "supervision_overdue", _("逾期督办事项")
    NEW_STARTS = "new_starts", _("本月新开工")
    INVESTMENT = "investment", _("招商履约率")
