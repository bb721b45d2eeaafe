"""API tokens for machines (provincial platforms, county systems): knox's hashed tokens with a purpose,
an expiry and a read-only flag, issued and revoked by an administrator in the admin."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken, AuthTokenManager


class ApiTokenManager(AuthTokenManager):
    """Knox's manager, whose tokens come with their user's region: every API request reads its token with its user
    (knox's select_related) and then names the user's scope (access.scope_key reads the region's level), which was a
    query of its own."""

    def get_queryset(self):
        return super().get_queryset().select_related("user__region")


class ApiToken(AbstractAuthToken):
    """A user's API token. Only its SHA-512 digest is kept; the token itself is shown once, when issued.
    Deleting it revokes it; past its expiry it is refused (and removed)."""

    name = models.CharField(
        verbose_name=_("用途"),
        max_length=100,
        help_text=_("调用方，例如“省投资项目在线审批监管平台”。"),
    )
    read_only = models.BooleanField(
        verbose_name=_("只读"),
        default=True,
        help_text=_("只读令牌只能查询；可写令牌还能按该用户的权限报送月度调度、维护问题。"),
    )

    objects = ApiTokenManager()

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        ordering = ["-created"]

    def __str__(self):
        return f"{self.user} · {self.name}"
