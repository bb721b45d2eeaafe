"""A project's nodes (项目节点): the planned and actual dates of each kind, saved from the project page."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from projects.models import Milestone, Project


def milestones_changes(project, dates):
    """The node rows `dates` ({kind: (planned_on, actual_on)}) change, set but unsaved, and what is wrong
    with them (Milestone.clean, each message naming its node)."""
    from django.core.exceptions import ValidationError


    current = {milestone.kind_id: milestone for milestone in Milestone.objects.filter(project=project)}
    changed, errors = [], []
    for kind, (planned_on, actual_on) in dates.items():
        milestone = current.get(kind.pk)
        if milestone is None and planned_on is None and actual_on is None:
            continue
        if milestone is not None and (milestone.planned_on, milestone.actual_on) == (planned_on, actual_on):
            continue
        milestone = milestone or Milestone(project=project, kind=kind)
        milestone.planned_on, milestone.actual_on = planned_on, actual_on
        try:
            milestone.clean()
        except ValidationError as error:
            errors.extend(f"{kind}{_('：')}{message}" for message in error.messages)
        changed.append(milestone)
    return changed, errors


def milestones_save(*, user, project, dates):
    """Set a project's node dates as `user`: only the nodes whose dates changed are written (with a
    history row); a node with neither date is not kept. Any wrong node raises ValidationError naming it,
    and nothing is written."""
    from django.core.exceptions import ValidationError

    if not Project.objects.editable_by(user).filter(pk=project.pk).exists():
        raise PermissionDenied
    changed, errors = milestones_changes(project, dates)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for milestone in changed:
            milestone._history_user = user
            if milestone.planned_on is None and milestone.actual_on is None:
                milestone.delete()
            else:
                milestone.save()
    return len(changed)
