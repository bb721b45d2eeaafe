"""The security audit trail (issue 22): what a level-3 system must be able to show an auditor afterwards."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from projects.models.users import User


class AuditEvent(models.Model):
    """One security-relevant event: who (account and the name typed), when, from which address, what (a
    code), to what, with which parameters. Kept as a code with parameters, worded in the reader's
    language when shown (projects.audit.messages); never changed, removed only past AUDIT_RETENTION_DAYS."""

    class Code(models.TextChoices):
        LOGIN = "login", pgettext_lazy("audit event", "登录")
        LOGIN_FAILED = "login_failed", _("登录失败")
        LOCKED_OUT = "locked_out", _("登录锁定")
        LOGOUT = "logout", _("退出登录")
        PASSWORD_CHANGED = "password_changed", pgettext_lazy("audit event", "修改密码")
        ROLE_CHANGED = "role_changed", _("角色变更")
        TOKEN_ISSUED = "token_issued", _("签发 API 令牌")
        TOKEN_REVOKED = "token_revoked", _("吊销 API 令牌")
        TOKEN_EXPIRED = "token_expired", _("API 令牌过期删除")
        EXPORT = "export", _("导出")
        IMPORT_CONFIRMED = "import_confirmed", _("确认导入")

    at = models.DateTimeField(
        verbose_name=_("时间"),
        default=timezone.now,
        db_index=True,
    )
    code = models.CharField(
        verbose_name=_("事件"),
        max_length=40,
        choices=Code.choices,
    )
    actor = models.ForeignKey(
        User,
        verbose_name=_("操作人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The login name as typed (a failed login may name no account) or the actor's at the time: kept when
    # the account is renamed or deleted.
    username = models.CharField(
        verbose_name=_("用户名"),
        max_length=150,
        blank=True,
    )
    ip_address = models.GenericIPAddressField(
        verbose_name=_("IP 地址"),
        null=True,
        blank=True,
    )
    target_type = models.CharField(
        verbose_name=_("对象类型"),
        max_length=100,
        blank=True,
        help_text=_("模型标识，例如 projects.user。"),
    )
    target_id = models.CharField(
        verbose_name=_("对象编号"),
        max_length=64,
        blank=True,
    )
    target = models.CharField(
        verbose_name=_("对象"),
        max_length=200,
        blank=True,
    )
    params = models.JSONField(
        verbose_name=_("参数"),
        default=dict,
        blank=True,
    )

    class Meta:
        verbose_name = _("安全审计日志")
        verbose_name_plural = _("安全审计日志")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["code", "-at"], name="audit_code_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.get_code_display()} {self.username}".strip()
