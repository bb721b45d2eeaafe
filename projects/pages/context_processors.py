"""The menu's cache key: the menu is drawn once per user, page, language and 待办 count, and kept (its links and
permission checks cost a warm page about as much as the page's own body)."""

from django.utils import translation

from projects.domain.access import SHOWN_PERMS_SECONDS, is_leader, user_role
from projects.rankings.reads import may_see
from projects.shared import versions


def menu(request):
    """{"menu_key": a callable the template calls once (nothing is read for a page without the menu), and how long
    the menu is kept}."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def key():
        # Everything the menu shows depends on: the user (their permissions, staff and superuser flags, region and
        # role), whether rankings are theirs to see, the page's view (its item is marked current: the menu's items
        # take no arguments, so every project's page shares one menu, not one each) and the language. Projects' data
        # only for a 包联 leader (whether any project is theirs to contract, which a project's save moves with the
        # versions of a leader's scope); anyone else's menu stays warm through a county's report. A change to a
        # group's permissions shows within SHOWN_PERMS_SECONDS.
        match = getattr(request, "resolver_match", None)
        parts = ("menu", user.pk, user_role(user), user.is_staff, user.is_superuser, user.region_id, may_see(user),
                 match.view_name if match else request.path, translation.get_language())
        return versions.versioned_key(*parts, user=user) if is_leader(user) else versions.catalogue_key(*parts)

    return {"menu_key": key, "shown_perms_seconds": SHOWN_PERMS_SECONDS}
