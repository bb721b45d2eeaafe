"""The 督办 pages' forms: opening an item by hand, answering it, and (issue 27) requesting closure, signing
off, returning, urging, escalating, reopening and extending it."""

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


# --- Issue 27: the loop closed by the level above ------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several documents at once (整改材料); each is validated by projects.evidence when stored."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(upload, initial) for upload in data if upload]
        return [single(data, initial)] if data else []


class TransitionForm(forms.Form):
    """A transition's form: carries the item's version it was read at (a moved version is refused)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ClosureRequestForm(TransitionForm):
    text = forms.CharField(label=_("整改情况"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    files = MultipleFileField(label=_("整改材料"), help_text=_("PDF、Word（docx）、Excel（xlsx）或图片，可选多个"))


class NoteForm(TransitionForm):
    """Sign-off, urge, escalate, grant or refuse: an optional note."""

    text = forms.CharField(label=_("意见"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False)


class ReasonForm(TransitionForm):
    """Return or reopen: a reason is required."""

    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class ExtensionForm(TransitionForm):
    due_on = forms.DateField(label=_("延期至"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("延期理由"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
