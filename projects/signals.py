"""Any write to the data a summary is computed from moves the data versions (see versions.cached_summary):
a project's row, or a row of its plans, reports, problems, nodes and supervision items, moves its regions'
(and the province's), and a project's or a supervision item's moves the items' own version too
(versions.SUPERVISION_VERSION_KEY); a catalogue or the calendar moves everything.

Signals, not service calls, because every ORM save must count (admin forms, inlines, shell); the bulk
paths that bypass signals (queryset.update, bulk_create) call versions.data_changed themselves.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_save
from django.dispatch import receiver

from actions.models import Action, ActionPlan
from projects import tasks
from projects.domain import access, workdays
from projects.models import (
    PLACING_FIELDS,
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
    User,
    WorkdayOverride,
)
from projects.shared import lights, versions

# Rows of one project: they move the versions of its regions.
PROJECT_ROWS = (AnnualPlan, MonthlyReport, Problem, Milestone, SupervisionItem)
# The calendar decides which reports are overdue, so it is summary data too; the catalogues name the
# groups of summaries and the choices of cached filter lists: they move everything.
EVERYTHING = (Region, WorkdayOverride, Industry, Programme, Batch, Cluster, ActionPlan, Action, MilestoneKind)


@receiver(pre_save, sender=Project)
def _project_place_before(sender, instance, raw=False, **kwargs):
    # A project moved to another county leaves the old one's figures too; one reordered moves the lists by place.
    instance._place_before = None if instance._state.adding else (
        Project.objects.filter(pk=instance.pk).values_list(versions.project_part(), *PLACING_FIELDS).first())


@receiver(post_save)
@receiver(post_delete)
def _row_changed(sender, instance, **kwargs):
    if sender is Project:
        before = getattr(instance, "_place_before", None)
        place = (instance.city_id, instance.county_id, versions.part_of(instance.pk))
        # Created, deleted, moved to another region or reordered: the lists chosen by place alone change too.
        moved = (kwargs.get("created", True) or before is None
                 or list(before[1:]) != [getattr(instance, name) for name in PLACING_FIELDS])
        before = before and (before[1], before[2], before[0])
        versions.data_changed(places=[place, *([before] if before else [])], places_moved=moved, projects=[instance.pk])
        versions.supervision_changed()  # its place and 包联 leader decide who sees and answers its items
    elif sender in PROJECT_ROWS:
        versions.projects_changed([instance.project_id], places_moved=False)
        if sender is SupervisionItem:
            versions.supervision_changed()
    elif sender in EVERYTHING:
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
def _links_changed(sender, action, instance, **kwargs):
    if action.startswith("post_"):
        if isinstance(instance, Project):
            versions.data_changed(places=[(instance.city_id, instance.county_id, versions.part_of(instance.pk))],
                                  projects=[instance.pk])
        else:  # a programme's or an action's projects: any of them
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


# --- Who holds which role and permissions (access.held_access keeps them under the access version) ---------------


@receiver(m2m_changed, sender=User.groups.through)
@receiver(m2m_changed, sender=User.user_permissions.through)
@receiver(m2m_changed, sender=Group.permissions.through)
def _memberships_changed(sender, action, **kwargs):
    if action.startswith("post_"):
        access.access_changed()


@receiver(post_save, sender=Group)
@receiver(post_delete, sender=Group)
@receiver(post_save, sender=Permission)
@receiver(post_delete, sender=Permission)
@receiver(post_migrate)
def _roles_changed(sender, **kwargs):
    access.access_changed()  # a group renamed is another role; a migration writes past the signals
