"""Any write to the data a summary is computed from moves the data version (see selectors.cached_summary).

Signals, not service calls, because every ORM save must count (admin forms, inlines, shell); the bulk
paths that bypass signals (queryset.update, bulk_create) call selectors.data_changed themselves.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from . import selectors, workdays
from .models import AnnualPlan, MonthlyReport, Problem, Project, Region, WorkdayOverride

# The calendar decides which reports are overdue, so it is summary data too.
WATCHED = (Project, AnnualPlan, MonthlyReport, Problem, Region, WorkdayOverride)


@receiver(post_save)
@receiver(post_delete)
def _row_changed(sender, **kwargs):
    if sender in WATCHED:
        selectors.data_changed()


@receiver(post_save, sender=WorkdayOverride)
@receiver(post_delete, sender=WorkdayOverride)
def _calendar_changed(sender, **kwargs):
    workdays.clear_cache()


@receiver(m2m_changed, sender=Project.programmes.through)
@receiver(m2m_changed, sender=Project.actions.through)
def _links_changed(sender, action, **kwargs):
    if action.startswith("post_"):
        selectors.data_changed()
