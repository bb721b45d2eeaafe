"""The menu's 待办 (n) (issue 26): the inbox's count, read only when a page draws the menu, from the cache while
the user's scope is unchanged (reads.inbox_count)."""

import logging

from django.db import DatabaseError

from projects.inbox.reads import inbox_count

logger = logging.getLogger(__name__)


def inbox(request):
    """{"inbox_count": a callable the template calls once}: nothing is read for a page without the menu, and
    an error page drawn while the database is away shows the menu without the number."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    found = []

    def count():
        if not found:
            try:
                found.append(inbox_count(user))
            except DatabaseError:
                logger.warning("inbox count not read: the database did not answer", exc_info=True)
                found.append(None)
        return found[0]

    return {"inbox_count": count}
