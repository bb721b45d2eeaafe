"""The site's URLs (hebei_projects.urls) plus the floors the benches measure pages against, under /bench-floor/,
served by the same gunicorn in the same run. Bench-only (bench/settings.py): the app has no floor endpoint.

- /bench-floor/: the least an authenticated page costs: the whole middleware stack (session saved on every
  request, two-factor check, locale ...), `login_required`, one trivial query and a tiny response.
- /bench-floor/rows/: the same, plus the list page's rows for the same scope, filter, sort and page, read by
  plain SQL (bench/floors.py) and returned as a small JSON list: what the page shows, without the ORM, the
  FilterSet, the cache or the template.
- /bench-floor/dashboard/: the same, plus the dashboard's own SQL over the user's whole scope in one pass, executed
  as plain SQL (bench/floors.py dashboard_rows): what its figures cost the database, without pieces or cache.
- /bench-floor/api/ and /bench-floor/api/rows/: the same two for the API: DRF with the API's own token
  authentication, throttle and a read permission; the rows are the API list's page (by id) in plain SQL.
"""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import path
from rest_framework.views import APIView

from bench import floors
from hebei_projects.urls import urlpatterns as site_urlpatterns
from projects.api.permissions import ReadOnlyAuthenticated


def _trivial_query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


@login_required
def minimal(request):
    _trivial_query()
    return HttpResponse("ok", content_type="text/plain")


@login_required
def list_rows(request):
    rows = floors.list_rows(request.GET)
    return JsonResponse({"ids": [row[0] for row in rows], "rows": rows}, json_dumps_params={"default": str})


@login_required
def dashboard_rows(request):
    queries, rows = floors.dashboard_rows(request.user)
    return JsonResponse({"queries": queries, "rows": rows})


class ApiMinimal(APIView):
    permission_classes = [ReadOnlyAuthenticated]
    versioning_class = None  # outside /api/v1/: no version to determine
    schema = None  # not in the OpenAPI schema: /api/schema/ stays the app's own

    def get(self, request):
        _trivial_query()
        return JsonResponse({"ok": True})


class ApiRows(ApiMinimal):
    def get(self, request):
        rows = floors.api_rows(request.GET)
        return JsonResponse({"ids": [row["id"] for row in rows], "results": rows}, json_dumps_params={"default": str})


urlpatterns = [
    path("bench-floor/", minimal),
    path("bench-floor/rows/", list_rows),
    path("bench-floor/dashboard/", dashboard_rows),
    path("bench-floor/api/", ApiMinimal.as_view()),
    path("bench-floor/api/rows/", ApiRows.as_view()),
    *site_urlpatterns,
]
