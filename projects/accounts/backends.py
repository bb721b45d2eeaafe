"""The authentication backend: Django's ModelBackend, whose user of a request comes with their region."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


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
