from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from actions.models import Action

from projects.choices import DigestFrequency, SupervisionLevel
from projects.fields import ActionMultipleChoiceField
from projects.models import Programme


class SubscriptionForm(forms.Form):
    """A user's own digest subscriptions (the profile page)."""

    frequencies = forms.MultipleChoiceField(
        label=_("接收简报"),
        choices=DigestFrequency.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("周报在每周第一个工作日上午发送，月报在月度调度截止后的第一个工作日发送；内容为您所属区划的项目。"),
    )
    programmes = forms.ModelMultipleChoiceField(
        label=_("只看这些项目类别"),
        queryset=Programme.objects.all(),
        required=False,
        help_text=_("不选即全部。"),
    )
    actions = ActionMultipleChoiceField(
        label=_("只看这些专项行动"),
        queryset=Action.objects.select_related("plan"),
        required=False,
        help_text=_("不选即全部。"),
    )


# --- Supervision (督办): what the acting level and the opener type ---------------------------------------


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
