"""The 督办 pages' forms: opening an item by hand, answering it, closing it."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from projects.domain.choices import SupervisionLevel


class ResponseForm(forms.Form):
    text = forms.CharField(label=_("办理情况"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class CloseForm(forms.Form):
    result = forms.CharField(label=_("办结情况"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class OpenForm(forms.Form):
    level = forms.ChoiceField(label=_("办理层级"))
    description = forms.CharField(label=pgettext_lazy("what the item asks", "督办事项"), max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))

    def __init__(self, *args, levels=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(SupervisionLevel.choices)
        self.fields["level"].choices = [(level, labels[level]) for level in levels]
