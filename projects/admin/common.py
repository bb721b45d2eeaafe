"""What every region-bound admin shares: list filters from ProjectFilterSet, scoped history, scoping, kept
changelists."""

import hashlib

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from projects.domain import rules
from projects.domain.access import SHOWN_PERMS_SECONDS, phone_masked, scope_key
from projects.models import Project
from projects.shared import versions
from projects.shared.filtersets import ProjectFilterSet, city_choices, cluster_choices, county_choices
from projects.shared.kept_pages import kept_page

# --- List filters that delegate to ProjectFilterSet --------------------------------------------------


class FilterSetListFilter(admin.SimpleListFilter):
    """An admin sidebar filter whose choices and filtering come from ProjectFilterSet's filter of the same
    name, so the admin, the list page and the export agree on what a parameter means (and on scoping)."""

    filterset_class = ProjectFilterSet

    def lookups(self, request, model_admin):
        return self._sidebar_choices(request, model_admin)[self.parameter_name]

    def _sidebar_choices(self, request, model_admin):
        """{parameter: choices} of the sidebar's filters of this FilterSet, read once per request. The choices (every
        county, cluster, industry…) change with the catalogues and regions (the epoch, not the projects' data: a
        county's report leaves them kept), the scope and the language, as the list page's filters do; one cache read
        for the whole sidebar, not two per filter."""
        read = request.__dict__.setdefault("_sidebar_choices", {})
        if model_admin not in read:
            names = sorted(spec.parameter_name for spec in model_admin.list_filter
                           if isinstance(spec, type) and issubclass(spec, FilterSetListFilter)
                           and spec.filterset_class is self.filterset_class)

            def choices():
                form = self._unbound_form(request)
                return {name: _flat_choices(form.fields[name]) for name in names}

            key = ("admin-filters", self.filterset_class.__name__, names, scope_key(request.user), translation.get_language())
            key = "projects:admin-filters:" + versions.catalogue_key(*key)
            read[model_admin] = versions.computed_once(key, choices)
        return read[model_admin]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        filterset = self.filterset_class({self.parameter_name: self.value()}, queryset=queryset, request=request)
        if not filterset.is_valid():
            # An id outside the user's region is as unknown as one that does not exist.
            raise IncorrectLookupParameters(filterset.errors)
        return filterset.qs

    def _unbound_form(self, request):
        """One unbound form per request for all the sidebar's filters: building it deep-copies every filter
        and its choices, which costs more than the page's queries when done once per filter."""
        forms = request.__dict__.setdefault("_filterset_forms", {})
        if self.filterset_class not in forms:
            forms[self.filterset_class] = self.filterset_class(request=request).form
        return forms[self.filterset_class]


def _flat_choices(field):
    """[(value, label)] of a form field's choices as strings, groups one after the other, the empty choice left out. A
    yes/no filter keeps its choices on its widget (全部 / 是 / 否); a field without choices has none."""
    flat = []
    for value, label in getattr(field, "choices", None) or getattr(field.widget, "choices", None) or ():
        flat.extend(label if isinstance(label, (list, tuple)) else [(value, label)])
    return [(str(value), str(label)) for value, label in flat if value != ""]


def filterset_list_filter(name, filterset_class=ProjectFilterSet):
    """The sidebar filter for `filterset_class`'s filter `name` (ProjectFilterSet's, or another model's)."""
    title = filterset_class.base_filters[name].label
    prefix = "" if filterset_class is ProjectFilterSet else filterset_class.__name__
    return type(f"{prefix}{name.title()}ListFilter", (FilterSetListFilter,),
                {"parameter_name": name, "title": title, "filterset_class": filterset_class})


class ReadOnlyAdminMixin:
    """A list kept for good or changed elsewhere: shown, never added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class YearListFilter(FilterSetListFilter):
    parameter_name = "year"
    title = _("年度")

    def lookups(self, request, model_admin):
        # The years every page offers, not those with plans in the scope: that was a scan of every plan, and a list
        # that a plan off the page changed (so a page of rows could not be kept by its rows: KeptChangeListMixin).
        return [(str(year), str(year)) for year in rules.selectable_years(rules.today())]


# --- Shared behaviour for region-bound admins --------------------------------------------------------


class ReadableHistoryContextHelper(HistoricalRecordContextHelper):
    """History shows 续建 → 竣工投产, not the stored codes continuing → completed; masked fields (a
    project's contact number for a reader who may not edit it, issue 22) show their mask."""

    masked_fields = ()

    def prepare_delta_change_value(self, change, value):
        if change.field in self.masked_fields:
            return phone_masked(value)
        field = self.model._meta.get_field(change.field)
        if field.choices and value is not None:
            return dict(field.flatchoices).get(value, value)
        return super().prepare_delta_change_value(change, value)


class ScopedHistoryAdmin(SimpleHistoryAdmin):
    """History for region-bound objects: only of visible objects (else 404, as if missing), read-only.

    Reverting is off: it would write an old version past the optimistic lock without the user seeing
    what changed since; an old version is shown for reading.
    """

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryContextHelper(self.model, historical_record)

    def set_history_delta_changes(self, request, historical_records, *args, **kwargs):
        """Also: a record saved without a reason shows “—” in 修改原因, not the template's literal None
        (the records of the page are for display only)."""
        super().set_history_delta_changes(request, historical_records, *args, **kwargs)
        for record in historical_records:
            if not record.history_change_reason:
                record.history_change_reason = "—"

    def history_view(self, request, object_id, extra_context=None):
        self._ensure_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._ensure_visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True

    def _ensure_visible(self, request, object_id):
        if not self.model.objects.visible_to(request.user).filter(pk=object_id).exists():
            raise Http404


class RegionScopedAdminMixin:
    """Every queryset, choice list and permission of an admin goes through the one visibility rule."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Also for autocomplete fields, whose form field otherwise validates against every row (a leak).
        choices = {
            "city": city_choices,
            "county": county_choices,
            "cluster": cluster_choices,
        }
        if db_field.name in choices:
            kwargs["queryset"] = choices[db_field.name](request)
        elif db_field.related_model is Project:
            kwargs["queryset"] = Project.objects.editable_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyInline(admin.TabularInline):
    """A record kept for good (a report's review steps, a supervision item's timeline): shown, never edited."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- A changelist page kept whole for its reader (issue 24) -------------------------------------------------


class KeptChangeListMixin:
    """The changelist page kept whole for the user who saw it, while nothing it shows can have changed: a warm
    changelist was five times the platform's minimal page (Django's ChangeList, its queryset and the admin's
    template around the kept rows). Permissions are checked on every request before the kept page is read; what the
    page shows of them (the sidebar, the actions, the add button) follows within SHOWN_PERMS_SECONDS, as the menu.

    Kept only for a plain GET with no message to show, from a browser holding its own CSRF secret: the page's forms
    carry a token of that secret, valid for every later request with the same cookie (it changes at login). The key
    holds the secret's digest, the user and their scope, the path with its parameters, the language and the day; the
    page is kept under the data versions of the user's scope, and, when its rows are chosen and ordered by place alone
    (rows_chosen_by_place), under those rows' versions too (kept_pages): a report off the page leaves it kept. Subclasses
    give their page's extra context through changelist_extra_context()."""

    def changelist_extra_context(self, request):
        return {}

    def rows_chosen_by_place(self, request, changelist):
        """Whether the rows of `changelist` (its page, as asked by `request`) are chosen and ordered by place alone."""
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        context = {**(extra_context or {}), **self.changelist_extra_context(request)}
        parts = self._kept_page_parts(request)
        if parts is None:
            return super().changelist_view(request, context)
        answered = {}

        def render():
            response = super(KeptChangeListMixin, self).changelist_view(request, context)
            if response.status_code != 200 or not hasattr(response, "render"):
                answered["response"] = response  # a redirect (a wrong filter's ?e=1), answered as it is, never kept
                return "", response.status_code, None
            changelist = response.render().context_data["cl"]
            shown = [row.pk for row in changelist.result_list] if self.rows_chosen_by_place(request, changelist) else None
            return response.content.decode(), 200, shown

        html, _status = kept_page(parts, render, user=request.user, timeout=SHOWN_PERMS_SECONDS)
        return answered.get("response") or HttpResponse(html)

    def _kept_page_parts(self, request):
        secret = request.COOKIES.get(settings.CSRF_COOKIE_NAME)
        if (request.method != "GET" or not secret or secret != request.META.get("CSRF_COOKIE")
                or len(messages.get_messages(request))):  # counted, not consumed: the page drawn shows them
            return None
        user = request.user
        return ("admin-page", self.opts.label, user.pk, user.get_short_name() or user.get_username(),
                hashlib.sha256(secret.encode()).hexdigest(), request.get_full_path(), self.has_change_permission(request),
                translation.get_language(), rules.today())
