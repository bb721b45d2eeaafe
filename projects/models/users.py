"""Users (a region and a role) and what is scoped to a person rather than to a region."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.domain.access import person_scope_q, user_role
from projects.models.catalogue import Region


class User(AbstractUser):
    """A staff member; the region bounds everything they see, their groups (roles) what they may do."""

    region = models.ForeignKey(
        Region,
        verbose_name=_("所属区划"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text=_("用户只能查看和修改本区划内的项目；省级区划可见全部。"),
    )
    phone = models.CharField(
        verbose_name=_("联系电话"),
        max_length=30,
        blank=True,
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        """The person or unit people know (省发展改革委), not the login name, wherever a user is shown."""
        return self.get_full_name() or self.username

    @property
    def role(self):
        return user_role(self)


class PersonScopedQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(person_scope_q(user))
