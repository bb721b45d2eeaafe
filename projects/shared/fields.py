"""Form fields the pages share."""

from django import forms
from django.utils.choices import BaseChoiceIterator
from django_filters.fields import ModelChoiceField

from actions.models import grouped_action_choices
from projects.domain.rules import today


class _ActionsByPlan(BaseChoiceIterator):
    """Read when the choices are shown, not when the form class is defined (no query at import)."""

    def __init__(self, field):
        self.field = field

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        yield from grouped_action_choices(self.field.queryset.select_related("plan"), today().year)


class _GroupedByPlan:
    """Actions listed under their plan, the plan in force first (two plans both have an action 1)."""

    def _get_choices(self):
        return _ActionsByPlan(self)

    choices = property(_get_choices, forms.ChoiceField.choices.fset)


class ActionChoiceField(_GroupedByPlan, ModelChoiceField):
    pass


class ActionMultipleChoiceField(_GroupedByPlan, forms.ModelMultipleChoiceField):
    pass
