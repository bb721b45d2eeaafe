"""Sessions in the database (never in the cache alone: a Redis outage logs nobody out), saved again once on
a fresh connection when the database connection was cut under the save (issue 21, point 7).

The session is saved after the view's response (SESSION_SAVE_EVERY_REQUEST), outside the middleware that
reads a page again on a fresh connection (hebei_projects.middleware.DatabaseConnectionLostMiddleware): a
connection cut at that moment would turn a page already answered, or a save already committed, into an
error. Saving a session is idempotent (its row, by its key), so it is simply done again."""

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import InterfaceError, OperationalError, connections, router

CONNECTION_ERRORS = (OperationalError, InterfaceError)


class SessionStore(DatabaseSessionStore):
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
