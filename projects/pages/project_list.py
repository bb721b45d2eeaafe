"""The project list (every project in scope, filtered, sorted and paged) and its export."""

import hashlib

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from projects.audit.services import audit_export
from projects.domain import rules
from projects.domain.access import is_leader, scope_key, user_role
from projects.domain.choices import Light, Stage
from projects.importing import exporting
from projects.models import PROJECT_ORDER, Project
from projects.pages.common import scope_filterset
from projects.shared import lights, versions
from projects.shared.kept_pages import kept_page, light_place
from projects.shared.kept_rows import row_content
from projects.shared.links import project_links
from projects.shared.paginators import PAGE_SIZES, CachedCountPaginator, page_of, page_size
from projects.shared.scopes import active_params

LIST_PAGE_SIZE = 50
# What a row shows (_project_rows.html, rules.describe_light): a page reads these alone. A project has some fifty
# columns and each row its city and county: 150 whole model instances a page took longer to build than its SQL.
ROW_FIELDS = (
    "key", "code", "name", "stage", "total_investment", "planned_start",
    "investor", "investor_source", "signed_on", "signing_event", "contract_amount", "investment_stage",
    "city__name", "city__name_en", "county__name", "county__name_en",
)


def filters_applied(request, form):
    """How many of the form's filters the request sets: the folded filters' button says so on a phone."""
    return sum(1 for name in form.fields if name != "sort" and any(value.strip() for value in request.GET.getlist(name)))


@login_required
def project_list(request):
    user = request.user
    # A warm list renders nothing: the body (filters, counts, rows, paging) is kept under the scope's data versions, or
    # for a page of rows chosen by place alone under those rows' versions (kept_pages: a report off the page leaves it),
    # and changes with the scope, the role (a 包联 leader's filter), the parameters as asked, the day and the language.
    # Only a valid request's body is kept, so a kept one needs no validation (half a warm request was the FilterSet and
    # the template around the cached rows).
    parts = ("project-list-body", scope_key(user), user_role(user), sorted(request.GET.lists()),
             translation.get_language(), rules.today())
    by_light = light_place(user, request.GET)

    def render_body():
        context, status = _list_context(request)
        return render_to_string("projects/_project_list_body.html", context, request), status, context.get("shown")

    body, status = kept_page(parts, render_body, user=user, lights=by_light)
    body = mark_safe(body)  # noqa: S308 — our own template's output, escaped when it was rendered
    return render(request, "projects/project_list.html", {"body": body}, status=status)


def _list_context(request):
    """(the list body's context, its status)."""
    filterset, year = scope_filterset(request)
    per_page, size_note = page_size(request.GET, LIST_PAGE_SIZE)
    if not filterset.is_valid():
        page = CachedCountPaginator(Project.objects.none(), per_page).get_page(1)
        rows = render_to_string("projects/_project_rows.html", {"page": page, "year": year}, request)
        return {
            "filterset": filterset, "page": page, "year": year, "rows": rows, "filters_open": True,
            "filters_applied": filters_applied(request, filterset.form),
        }, 400
    projects = filterset.qs.select_related("city", "county").only(*ROW_FIELDS)
    if filterset.form.cleaned_data.get("sort"):
        projects = projects.order_by(*projects.query.order_by, "pk")  # ties in any order would move between pages
    else:
        projects = projects.order_by(*PROJECT_ORDER)
    # The second light (项目节点) for the page's rows only: the count leaves the annotation out.
    projects = projects.annotate(nodes_late=lights.nodes_late_exists(rules.today()))
    # The rows are cached under the request's parameters (per_page and page among them, as asked): a wrong
    # value is another key whose rows are those of the page shown, so no key ever holds another page's rows.
    paginator = CachedCountPaginator(projects, per_page, user=request.user, by_place=filterset.counts_by_place())
    page, page_note = page_of(paginator, request.GET)
    params = active_params(filterset)
    investment = filterset.is_investment_list()  # 招商引资 items: their lifecycle's columns too (issue 25)
    if not is_leader(request.user):
        filterset.form.fields.pop("contracted", None)  # only a 包联 leader has projects of their own to pick
    rows = _list_rows(request, page, year, investment=investment)
    return {
        "filterset": filterset,
        "page": page,
        "year": year,
        "rows": rows,
        # Which rows a page chosen by place (and by the stored lights) shows: the page is kept under them (kept_pages).
        "shown": [project.pk for project in page.object_list] if filterset.chosen_by_place(projects, ordered=True) else None,
        "investment": investment,
        "query": urlencode({k: v for k, v in request.GET.items() if k != "page"}),
        "page_sizes": PAGE_SIZES,
        "per_page": per_page,
        "paging_notes": [note for note in (size_note, page_note) if note],
        "filters_applied": filters_applied(request, filterset.form),
        # Rendering the filters' selects (every county, cluster, industry…) costs more than the page's queries; they
        # change with the catalogues and regions (the epoch, not the projects' data: a county's report leaves them
        # warm), the scope, the role (a leader's 我包联的 filter: a leader and the province's administrator share the
        # province's scope), the filters and the language.
        "filters_key": versions.catalogue_key(
            "project-filters", scope_key(request.user), user_role(request.user), sorted((k, v) for k, v in request.GET.lists() if k not in ("page", "sort", "per_page")),
            translation.get_language(),
        ),
        "export_links": {fmt: reverse("project_export") + "?" + urlencode({**params, "format": fmt}) for fmt in exporting.FORMATS},
        "sort_links": _sort_links(request, filterset),
    }, 200


def _list_rows(request, page, year, *, investment=False):
    """The page's table rows. Rendering 50 rows costs more than reading them, and a write rarely touches the page
    shown: after a county's report every list of the county is read anew (its versions moved), but its rows are
    most often what they were. They are kept under what they show (row_content: every value of every row, the
    language, the day, the year, the regions' names through the epoch), not under the data's versions: a list
    read after a write elsewhere renders nothing, and a changed row makes another key."""
    on = rules.today()
    rows = list(page.object_list)
    names = [name for name in vars(rows[0]) if name[0] != "_"] if rows else []
    key = "projects:rows:" + hashlib.sha256(repr(
        ("project-rows", versions.data_version(), translation.get_language(), on, year, investment, names,
         [row_content(project) for project in rows]),
    ).encode()).hexdigest()
    html = cache.get(key)
    if html is None:
        # Labels translated and the page's link built once, not once a row (a third of rendering 50 rows).
        stage_labels = {value: str(label) for value, label in Stage.choices}
        light_labels = {value: str(label) for value, label in Light.choices}
        link = project_links()
        for project in rows:
            project.light = rules.light_of(project.light_reason)
            project.reason = rules.describe_light(reason=project.light_reason, project=project, year=year, on=on)
            project.light_label = light_labels[project.light]
            project.stage_label = stage_labels.get(project.stage, project.stage)
            project.href = link(project.pk)
        html = render_to_string("projects/_project_rows.html", {"page": page, "year": year, "investment": investment}, request)
        cache.set(key, html, versions.SUMMARY_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308 — our own template's output, escaped when it was rendered


def _sort_links(request, filterset):
    current = request.GET.get("sort", "")
    links = {}
    for param in filterset.filters["sort"].param_map:  # django-filter maps each parameter to its field
        descending = current == param
        query = request.GET.copy()
        query["sort"] = f"-{param}" if descending else param
        query.pop("page", None)
        links[param] = {"href": "?" + query.urlencode(), "active": current.lstrip("-") == param, "desc": current.startswith("-")}
    return links


@login_required
def project_export(request):
    fmt = request.GET.get("format", "xlsx")
    if fmt not in exporting.FORMATS:
        raise Http404
    filterset, year = scope_filterset(request)
    if not filterset.is_valid():
        raise Http404
    handle = exporting.export(filterset.qs.order_by(*PROJECT_ORDER), fmt=fmt, year=year, user=request.user)
    audit_export(request, model=Project, rows=handle.rows, fmt=fmt)  # issue 22: every export is audited
    return FileResponse(handle, as_attachment=True, filename=exporting.filename(fmt, year), content_type=exporting.CONTENT_TYPES[fmt])
