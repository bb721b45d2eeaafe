"""What a user is shown of their permissions: a button, a link, the menu's 待办 count."""

from django.core.cache import cache

from projects.domain.access import SHOWN_PERMS_SECONDS


def shown_perm(user, perm):
    """Whether to show `user` what `perm` allows, kept for SHOWN_PERMS_SECONDS: loading a user's permissions costs
    a page two queries. For what is shown only: the view behind a link checks the permission itself, at once. All
    of a user's permissions are kept under one key: a page asks for three or four (one cache read, not one each)."""
    if user.is_active and user.is_superuser:  # as has_perm: every permission, no lookup
        return True
    perms = getattr(user, "_shown_perms", None)  # the request's user: read once a request
    if perms is None:
        key = f"projects:shown-perms:{user.pk}"
        perms = cache.get(key)
        if perms is None:
            # What has_perm answers: an inactive user has none.
            perms = frozenset(user.get_all_permissions()) if user.is_active else frozenset()
            cache.set(key, perms, SHOWN_PERMS_SECONDS)
        user._shown_perms = perms
    return perm in perms
