"""The forms of the pages: digest subscriptions on the profile page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from actions.models import Action
from projects.domain.choices import DigestFrequency
from projects.models import Programme
from projects.shared.fields import ActionMultipleChoiceField


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
