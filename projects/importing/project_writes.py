"""The project list's bulk steps (SPEC §5): `ProjectListWrites`, the mixin that gives ProjectListResource
(project_list.py) django-import-export's `bulk_create` and `bulk_update`. A chunk of projects the rows
created or changed is written at once: the projects (an upsert on the primary key for updates), their
programme and action links, history rows with the importing user and the links each had, annual plans and
node dates; then every project written is checked against the user's region, the same `editable_by` rule
as everywhere else. It reads what import_instance left on each instance (`_links`, `_plan`, `_nodes`,
`_row_number`) and the resource's `user`, `year`, `changed_fields`, `written` and `planned`.
"""

from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from projects.importing.project_fields import LINKS, investment_fields
from projects.models import AnnualPlan, Milestone, Project


class ProjectListWrites:
    """ProjectListResource's bulk steps: what the rows set, written a chunk at a time; and the optional
    investment-promotion block's fields (project_fields.investment_fields, issue 25), each resource's own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(investment_fields())

    # --- Writing in bulk ------------------------------------------------------------------------------

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        creates, self.create_instances = self.create_instances, []
        if creates:
            self._write(creates, created=True, result=result)

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        updates, self.update_instances = self.update_instances, []
        if updates:
            self._write(updates, created=False, result=result)

    def _write(self, projects, *, created, result):
        """Write a chunk: projects, links, history, plans; then NetBox's re-check, whatever the file said:
        every project written must be one the user may edit. (Rows after an error are written too, to
        report every row's errors; the transaction is rolled back.)"""
        for project in projects:
            project.set_sort_keys()  # the regions are the catalogue's objects: no query
        if created:
            Project.objects.bulk_create(projects, batch_size=1000)
            if projects[0].pk is None:  # a database without RETURNING: read the keys back
                keys = dict(Project.objects.filter(key__in=[p.key for p in projects]).values_list("key", "pk"))
                for project in projects:
                    project.pk = project.id = keys[project.key]
        else:
            # An upsert on the primary key writes at insert speed; Django's bulk_update builds a CASE per
            # column per row and is as slow as saving one by one.
            changed = self.changed_fields | ({"city_code", "county_code"} if {"city", "county"} & self.changed_fields else set())
            Project.objects.bulk_create(projects, update_conflicts=True, unique_fields=["id"],
                                        update_fields=sorted(changed | {"version", "updated_at"}), batch_size=1000)
        links = self._write_links(projects)
        history = Project.history.bulk_history_create(projects, update=not created, default_user=self.user, batch_size=1000)
        self._write_link_history(projects, history, links)
        self._write_plans(projects)
        self._write_nodes(projects)
        self.written.update((project.pk, project._row_number) for project in projects)
        if self.user is not None:
            pks = [project.pk for project in projects]
            allowed = set(Project.objects.editable_by(self.user).filter(pk__in=pks).values_list("pk", flat=True))
            for project in projects:
                if project.pk not in allowed:
                    result.append_invalid_row(project._row_number, {}, ValidationError({"county": [_("不在您的管辖区域内")]}))

    def _write_links(self, projects):
        """The programme and action links the rows changed; returns every link of the projects, as rows of
        the through tables (what the history rows record)."""
        links = {}
        for kind, column in LINKS.items():
            through = getattr(Project, kind).through
            changed = [project for project in projects if kind in project._links]
            through.objects.filter(project_id__in=[project.pk for project in changed if not project._new]).delete()
            created = through.objects.bulk_create(
                [through(project_id=project.pk, **{column: pk}) for project in changed for pk in project._links[kind]],
                batch_size=5000,
            )
            kept = [project.pk for project in projects if kind not in project._links and project._all_links[kind]]
            links[kind] = created + list(through.objects.filter(project_id__in=kept))
        return links

    def _write_link_history(self, projects, history, links):
        """What simple_history records on each save of a project with m2m_fields: its links at that moment."""
        by_project = {record.id: record for record in history}
        for kind, column in LINKS.items():
            model = apps.get_model("projects", f"HistoricalProject_{kind}")
            model.objects.bulk_create(
                [model(history=by_project[link.project_id], id=link.id, project_id=link.project_id,
                       **{column: getattr(link, column)}) for link in links[kind]],
                batch_size=5000,
            )

    def _write_plans(self, projects):
        new_plans, changed_plans = [], []
        for project in projects:
            if project._plan is None:
                continue
            plan, planned, before = project._plan
            self.planned.add(project.pk)
            if plan is None:
                new_plans.append(AnnualPlan(project_id=project.pk, year=self.year, planned_investment=planned,
                                            completed_before_year=before))
            else:
                plan.planned_investment, plan.completed_before_year = planned, before
                changed_plans.append(plan)
        if new_plans:
            bulk_create_with_history(new_plans, AnnualPlan, default_user=self.user, batch_size=1000)
        if changed_plans:
            AnnualPlan.objects.bulk_create(changed_plans, update_conflicts=True, unique_fields=["id"],
                                           update_fields=["planned_investment", "completed_before_year"], batch_size=1000)
            AnnualPlan.history.bulk_history_create(changed_plans, update=True, default_user=self.user, batch_size=1000)

    def _write_nodes(self, projects):
        new_nodes, changed_nodes = [], []
        for project in projects:
            for kind, milestone, planned in project._nodes:
                if milestone is None:
                    new_nodes.append(Milestone(project_id=project.pk, kind=kind, planned_on=planned))
                else:
                    milestone.planned_on = planned
                    changed_nodes.append(milestone)
        if new_nodes:
            bulk_create_with_history(new_nodes, Milestone, default_user=self.user, batch_size=1000)
        if changed_nodes:
            bulk_update_with_history(changed_nodes, Milestone, ["planned_on"], default_user=self.user, batch_size=1000)
