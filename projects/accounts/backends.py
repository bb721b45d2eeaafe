"""The authentication backend: Django's ModelBackend, whose user of a request comes with their region and whose
permissions are kept until they change."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from projects.domain.access import held_access


class UserBackend(ModelBackend):
    """ModelBackend whose get_user (each request's user, from its session) reads the user's region with the user, in
    one query: every page names the user's scope in its cache keys (access.scope_key reads the region's level), so a
    warm page read the region in a query of its own after the user's (issue 24)."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("region")
        try:
            user = users.get(pk=user_id)
        except users.model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        """ModelBackend's, kept under the access version (access.held_access): a request read them in two queries
        (the user's own and their groups' permissions), each API request and each page that checks one."""
        if obj is not None or not user_obj.is_active or user_obj.is_anonymous:
            return super().get_all_permissions(user_obj, obj)
        loaded = super().get_all_permissions
        return held_access(user_obj, "permissions", lambda: frozenset(loaded(user_obj)))
