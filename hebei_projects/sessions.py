"""Sessions in the database (never in the cache alone: a Redis outage logs nobody out), saved again once on
a fresh connection when the database connection was cut under the save (issue 21, point 7).

A session is saved when it changed, and renewed (its idle end moved on) by a request at most once every
SESSION_RENEW_SECONDS (SessionMiddleware below): saving it on every request was a write, a commit and a row
lock per page for every user. It is saved after the view's response, outside the middleware that
reads a page again on a fresh connection (hebei_projects.middleware.DatabaseConnectionLostMiddleware): a
connection cut at that moment would turn a page already answered, or a save already committed, into an
error. Saving a session is idempotent (its row, by its key), so it is simply done again."""

import datetime

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import InterfaceError, OperationalError, connections, router
from django.utils import timezone

CONNECTION_ERRORS = (OperationalError, InterfaceError)


class SessionStore(DatabaseSessionStore):
    stored_expiry = None  # the idle end the database holds, once the session was read

    def load(self):
        stored = self._get_session_from_db()
        self.stored_expiry = stored.expire_date if stored else None
        return self.decode(stored.session_data) if stored else {}

    def renewal_due(self):
        """Whether this request should move the idle end on: the last renewal is SESSION_RENEW_SECONDS old."""
        if self.stored_expiry is None:
            return False
        renewed_at = self.stored_expiry - datetime.timedelta(seconds=self.get_expiry_age())
        return timezone.now() - renewed_at >= datetime.timedelta(seconds=settings.SESSION_RENEW_SECONDS)

    def save(self, must_create=False):
        try:
            return super().save(must_create=must_create)
        except (*CONNECTION_ERRORS, UpdateError) as error:
            # Django reports any failed update as UpdateError (a session deleted meanwhile, answered 400):
            # only one caused by the connection is saved again.
            if isinstance(error, UpdateError) and not isinstance(error.__context__, CONNECTION_ERRORS):
                raise
            connection = connections[router.db_for_write(self.model)]
            if connection.in_atomic_block:
                raise
            connection.close()  # the next query opens a fresh connection
            return super().save(must_create=must_create)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, with a used session saved (its idle end and its cookie renewed) when its renewal is due, not on
    every request: an idle session ends SESSION_COOKIE_AGE after its last renewal, at most SESSION_RENEW_SECONDS
    earlier than after its last request."""

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is not None and session.accessed and not session.modified and not session.is_empty():
            if getattr(session, "renewal_due", lambda: False)():
                session.modified = True
        return super().process_response(request, response)
