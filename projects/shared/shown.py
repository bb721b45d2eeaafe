"""What a user is shown of their permissions: a button, a link, the menu's 待办 count."""

from django.core.cache import cache

from projects.domain.access import SHOWN_PERMS_SECONDS


def shown_perm(user, perm):
    """Whether to show `user` what `perm` allows, kept for SHOWN_PERMS_SECONDS: loading a user's permissions costs
    a page two queries. For what is shown only: the view behind a link checks the permission itself, at once."""
    key = f"projects:shown-perm:{user.pk}:{perm}"
    shown = cache.get(key)
    if shown is None:
        shown = user.has_perm(perm)
        cache.set(key, shown, SHOWN_PERMS_SECONDS)
    return shown
