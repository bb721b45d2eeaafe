"""Digest subscriptions and the record of every digest sent (one per recipient and period)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.domain.choices import DigestFrequency, MailKind
from projects.models.catalogue import Programme
from projects.models.users import PersonScopedQuerySet, User


class DigestSubscription(models.Model):
    """A user's wish to receive the weekly or monthly status digest for their region."""

    user = models.ForeignKey(
        User,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="digest_subscriptions",
    )
    frequency = models.CharField(
        verbose_name=_("频率"),
        max_length=10,
        choices=DigestFrequency.choices,
    )
    programmes = models.ManyToManyField(
        Programme,
        verbose_name=_("限定项目类别"),
        blank=True,
    )
    actions = models.ManyToManyField(
        "actions.Action",
        verbose_name=_("限定专项行动"),
        blank=True,
    )
    is_active = models.BooleanField(
        verbose_name=_("启用"),
        default=True,
    )

    objects = PersonScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("简报订阅")
        verbose_name_plural = _("简报订阅")
        constraints = [
            models.UniqueConstraint(fields=["user", "frequency"], name="projects_subscription_unique"),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_frequency_display()}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    RETRYING = "retrying", _("等待重试")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")
    CANCELLED = "cancelled", _("无需发送")


class DigestDelivery(models.Model):
    """One mail for one recipient and one period: a digest, a reminder, a notice of a returned report.

    An attempt claims it (its token, for a lease) before sending, so that two attempts never send it
    both; an attempt that dies leaves a claim that expires, and the catch-up task or a re-run takes it
    over (see digests.delivery_claim and README "Background work").
    """

    user = models.ForeignKey(
        User,
        verbose_name=_("收件人"),
        on_delete=models.CASCADE,
        related_name="digest_deliveries",
    )
    kind = models.CharField(
        verbose_name=_("类型"),
        max_length=20,
        choices=MailKind.choices,
    )
    period_start = models.DateField(
        verbose_name=_("周期开始"),
    )
    period_end = models.DateField(
        verbose_name=_("周期结束"),
    )
    # Tells apart mails of one kind, recipient and period that are not the same mail (each return of a
    # report is its own notice); empty for digests and reminders.
    key = models.CharField(
        verbose_name=_("标识"),
        max_length=40,
        blank=True,
    )
    status = models.CharField(
        verbose_name=_("状态"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(
        verbose_name=_("尝试次数"),
        default=0,
    )
    claimed_at = models.DateTimeField(
        verbose_name=_("领取时间"),
        null=True,
        blank=True,
    )
    # The attempt that holds the delivery: the Celery task id (a redelivered task keeps its id, so
    # it takes over the claim its killed predecessor left), or a command run's own id.
    claim_token = models.CharField(
        verbose_name=_("处理标识"),
        max_length=64,
        blank=True,
    )
    # Until when a queued, retrying or sending attempt answers for this delivery; past it, with the
    # delivery not sent, the attempt is presumed lost and the delivery is queued again.
    lease_until = models.DateTimeField(
        verbose_name=_("处理时限"),
        null=True,
        blank=True,
    )
    sent_at = models.DateTimeField(
        verbose_name=_("发送时间"),
        null=True,
        blank=True,
    )
    recipient = models.EmailField(
        verbose_name=_("邮箱"),
        blank=True,
    )
    subject = models.CharField(
        verbose_name=_("主题"),
        max_length=200,
        blank=True,
    )
    error = models.TextField(
        verbose_name=_("错误"),
        blank=True,
    )
    created_at = models.DateTimeField(
        verbose_name=_("创建时间"),
        auto_now_add=True,
    )
    # The day it was due to go out (a digest's send day, a reminder's day); recorded later than that day,
    # it was sent late: a run missed its day and the catch-up made up for it (README "Background work").
    due_on = models.DateField(
        verbose_name=_("应发日期"),
        null=True,
        blank=True,
    )

    objects = PersonScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("邮件发送记录")
        verbose_name_plural = _("邮件发送记录")
        ordering = ["-period_start", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "period_start", "key"], name="projects_delivery_once"),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_kind_display()} · {self.period_start:%Y-%m-%d}"
