"""Any write to the data a summary is computed from moves the data version (see versions.cached_summary).

Signals, not service calls, because every ORM save must count (admin forms, inlines, shell); the bulk
paths that bypass signals (queryset.update, bulk_create) call versions.data_changed themselves.
"""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from actions.models import Action, ActionPlan
from projects import tasks
from projects.domain import workdays
from projects.models import (
    AnnualPlan,
    Batch,
    Cluster,
    Industry,
    Milestone,
    MilestoneKind,
    MonthlyReport,
    Problem,
    Programme,
    Project,
    Region,
    SupervisionItem,
    WorkdayOverride,
)
from projects.shared import lights, versions

# The calendar decides which reports are overdue, so it is summary data too; the catalogues name the
# groups of summaries and the choices of cached filter lists.
WATCHED = (Project, AnnualPlan, MonthlyReport, Problem, Region, WorkdayOverride,
           Industry, Programme, Batch, Cluster, ActionPlan, Action, Milestone, MilestoneKind, SupervisionItem)


@receiver(post_save)
@receiver(post_delete)
def _row_changed(sender, **kwargs):
    if sender in WATCHED:
        versions.data_changed()


@receiver(post_save, sender=WorkdayOverride)
@receiver(post_delete, sender=WorkdayOverride)
def _calendar_changed(sender, **kwargs):
    workdays.clear_cache()
    # Deadlines moved: every light may have. Evaluated until a full refresh, queued once this commits.
    lights.lights_invalidate()
    transaction.on_commit(tasks.enqueue_lights_refresh)


@receiver(m2m_changed, sender=Project.programmes.through)
@receiver(m2m_changed, sender=Project.actions.through)
def _links_changed(sender, action, **kwargs):
    if action.startswith("post_"):
        versions.data_changed()


# --- Stored lights (lights.lights_refresh): every ORM save of what a light depends on re-judges it ------


@receiver(post_save, sender=Project)
def _project_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        lights.lights_refresh(projects=[instance.pk])


@receiver(post_save, sender=AnnualPlan)
@receiver(post_delete, sender=AnnualPlan)
def _plan_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        lights.lights_refresh(projects=[instance.project_id])


@receiver(post_save, sender=Region)
def _thresholds_changed(sender, instance, raw=False, **kwargs):
    if not raw and instance.is_city_level:  # a city's own yellow and red thresholds
        lights.lights_refresh(projects=Project.objects.filter(city=instance).values("pk"))
