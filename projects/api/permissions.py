"""What a caller may do: the model permissions of their role (reading needs `view`), never a write
with a read-only token. Which objects they reach is the visibility rule of every queryset (domain/access.py)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from projects.models import ApiToken


class ModelPermissions(permissions.DjangoModelPermissions):
    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }
    message = _("您的角色不能进行此操作。")

    def has_permission(self, request, view):
        if not read_only_token_allows(request):
            self.message = _("该令牌为只读令牌，不能修改数据。")
            return False
        return super().has_permission(request, view)


class ReadOnlyAuthenticated(permissions.IsAuthenticated):
    """For views over no single model (the dashboard summary): any signed-in caller, reading."""

    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.method in permissions.SAFE_METHODS


def read_only_token_allows(request):
    token = request.auth
    return not (isinstance(token, ApiToken) and token.read_only and request.method not in permissions.SAFE_METHODS)
