"""Site-wide middleware: the language switch and a database connection lost mid-request answered as a page."""

import logging

from django.conf import settings
from django.utils import translation

logger = logging.getLogger(__name__)


class ChineseFirstLocaleMiddleware:
    """Chinese unless the user chose another language with the language switch (a cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language, so an English-language
    browser in a provincial office would get an English interface nobody asked for (SPEC §3).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


# --- A database connection lost under a request (issue 21, point 7) -------------------------------------------

_CONNECTION_LOST = "_database_connection_lost"


def _connection_lost(error):
    """Whether a database error means the connection is gone (InterfaceError; SQLSTATE class 08 or an
    administrator's or crash shutdown; an error the client raised without a SQLSTATE, "the connection is
    lost"), not a query's own failure (a lock or statement timeout, a serialization failure)."""
    from django.db import InterfaceError, OperationalError

    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03")


def _note_connection_lost(sender, request=None, **kwargs):
    """Django sends got_request_exception while it handles the exception: remember on the request that it
    was the database connection (the response the middleware sees is already a 500)."""
    import sys

    error = sys.exc_info()[1]
    if request is not None and _connection_lost(error):
        setattr(request, _CONNECTION_LOST, error)


def _drop_broken_connections():
    """Close every connection that met an error or cannot be used, so that the next query opens a fresh one.
    False when one is still inside a transaction (nothing can be read again then)."""
    from django.db import DatabaseError, connections

    fresh = True
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            fresh = False
            continue
        if connection.connection is not None and (connection.errors_occurred or not connection.is_usable()):
            try:
                connection.close()
            except DatabaseError:
                connection.connection = None
    return fresh


class DatabaseConnectionLostMiddleware:
    """A PostgreSQL connection cut under a request (pg_terminate_backend, a failover, a proxy's idle timeout):

    - a read (GET, HEAD) is answered again, once, on a fresh connection: the user sees the page;
    - anything else is not repeated (its transaction was rolled back by the server: nothing half-written),
      and the user gets the site's own error page in their layout, with the way back to the form (the
      browser keeps what was typed); the API answers 503 with Retry-After.

    Placed after the session and language middleware: the session is saved and the page translated as for
    any response. Every cut is logged (Django logs the first attempt's error; a warning says it was read
    again)."""

    def __init__(self, get_response):
        from django.core.signals import got_request_exception

        got_request_exception.connect(_note_connection_lost, dispatch_uid="hebei_projects.connection_lost")
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        error = getattr(request, _CONNECTION_LOST, None)
        if error is None:
            return response
        delattr(request, _CONNECTION_LOST)
        fresh = _drop_broken_connections()
        if request.method in ("GET", "HEAD") and fresh:
            logger.warning("database connection lost under %s %s (%s): read again on a fresh connection",
                           request.method, request.path, error)
            response = self.get_response(request)
            error = getattr(request, _CONNECTION_LOST, None)
            if error is None:
                return response
            delattr(request, _CONNECTION_LOST)
            _drop_broken_connections()
        return self.error_response(request, response)

    def error_response(self, request, response):
        from django.http import JsonResponse
        from django.shortcuts import render
        from django.utils.translation import gettext as _

        if settings.DEBUG:
            return response  # the developer's traceback page
        if request.path.startswith("/api/"):
            answer = JsonResponse({"detail": _("数据库连接中断，未保存任何内容，请稍后重试。")}, status=503)
            answer["Retry-After"] = "5"
            return answer
        try:
            # The site's page, in the user's layout; for a save, that nothing of it was saved.
            return render(request, "500.html", {"not_saved": request.method not in ("GET", "HEAD")}, status=500)
        except Exception:  # the database is down altogether: Django's page, without the user's context
            logger.exception("the error page could not be rendered with the request's context")
            return response
