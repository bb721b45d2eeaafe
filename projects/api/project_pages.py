"""How the API's project list and detail are read and kept (issue 24): a page's programmes and actions read once, not
as an object per link; an answer kept under the data versions of the caller's scope, JSON as the bytes first sent."""

from django.core.cache import cache
from django.http import HttpResponse
from django.utils import translation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from actions.models import Action
from projects.domain import rules
from projects.domain.access import user_role
from projects.models import Programme, Project
from projects.shared.kept_pages import kept_page
from projects.shared.versions import PIECE_CACHE_SECONDS, catalogue_key


def kept(view, request, name, respond, *, shown=lambda: None, lights=None):
    """respond()'s answer kept (kept_pages.kept_page) under the data versions of the caller's scope, or, when `shown()`
    gives the ids of the rows it shows (rows chosen by place alone; with `lights`, kept_pages.light_place's, by place
    and stored light), under those rows' versions: a report off the page leaves it. Keyed by the caller and their role
    (the phone shown depends on their rights), `name`, the query, host, version, language, day (lights are today's)
    and the media type asked for. Only a 200 is kept: an error (a project out of sight, a bad filter) is answered anew.
    JSON is kept as its bytes, rendered once (rendering 1,000 rows was most of a warm request); the browsable API as
    its data."""
    renderer, media_type = request.accepted_renderer, request.accepted_media_type
    as_bytes = isinstance(renderer, JSONRenderer)
    parts = (name, request.user.pk, user_role(request.user), sorted(request.query_params.lists()), request.get_host(),
             request.version, translation.get_language(), rules.today(), media_type)
    failed = []

    def answer():
        response = respond()
        if response.status_code != 200:
            failed.append(response)
            return None, response.status_code, None
        if not as_bytes:
            return response.data, 200, shown()
        return renderer.render(response.data, media_type, view.get_renderer_context()), 200, shown()

    content, _status = kept_page(parts, answer, user=request.user, lights=lights)
    if failed:
        return failed[0]
    if not as_bytes:
        return Response(content)
    return rendered_response(renderer, content)


def rendered_response(renderer, content):
    """`content` as `renderer` rendered it, typed as DRF's Response.rendered_content types it (the renderer's media type
    and charset): an answer kept as its bytes."""
    content_type = renderer.media_type if renderer.charset is None else f"{renderer.media_type}; charset={renderer.charset}"
    return HttpResponse(content, content_type=content_type)


def with_catalogue_lists(projects):
    """`projects`, each given its programmes and actions (programme_list, action_list) in their catalogues' order, read
    as the links' ids and the catalogues' own rows: prefetching them built a model instance per link, 158 of the
    360 ms of a cold page of 1,000 projects (issue 24)."""
    projects = list(projects)
    ids = [project.pk for project in projects]
    for attribute, links, column, catalogue in (
        ("programme_list", Project.programmes.through, "programme_id", Programme.objects.all()),
        ("action_list", Project.actions.through, "action_id", Action.objects.select_related("plan")),
    ):
        rows = _catalogue_rows(attribute, catalogue)
        place = {row.pk: index for index, row in enumerate(rows)}
        linked = {}
        for project_id, row_id in links.objects.filter(project_id__in=ids).values_list("project_id", column):
            linked.setdefault(project_id, []).append(place[row_id])
        for project in projects:
            setattr(project, attribute, [rows[index] for index in sorted(linked.get(project.pk, ()))])
    return projects


def _catalogue_rows(name, catalogue):
    """A catalogue's few dozen rows in its own order, read once per epoch (a change to a catalogue moves it): two
    queries of every cold page."""
    key = "projects:api-catalogue:" + catalogue_key("api-catalogue", name)
    rows = cache.get(key)
    if rows is None:
        rows = list(catalogue)
        cache.set(key, rows, PIECE_CACHE_SECONDS)
    return rows
