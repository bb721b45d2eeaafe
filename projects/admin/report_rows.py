"""A project's monthly reports as rows of its change form's inline: the month as the browser's month picker,
one-line text boxes, and locked rows shown as what they are (issue 26): an approved report is text, not
boxes that look editable and are refused only on save.

Each of the row's values is shown as text and carried back in a hidden input, so saving the page as shown
changes nothing; its delete box is rendered disabled. The lock itself stays where it was
(MonthlyReportFormSet.clean and reports_prepare): a page opened before the approval still posts its boxes,
and a changed figure or a ticked delete is refused there, never silently dropped.
"""

from django import forms
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext

from projects.domain.figures import figure_text


class MonthField(forms.DateField):
    """A month as the browser's month picker sends it (2026-10), stored as its first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m", "%Y-%m-%d"]


# A report row's texts on one line (the inline's width at 1,400 px).
ONE_LINE = forms.TextInput(attrs={"size": 18})


# The fields of a report row a locked row shows as text, and how each value reads.
LOCKED_TEXT = {
    "month": lambda value: date_format(value, "Y-m") if value else "—",
    "completed_investment": figure_text,
    "image_progress": lambda value: value or "—",
    "note": lambda value: value or "—",
}


class LockedValue(forms.Widget):
    """A value shown as text beside a hidden input holding it as the row's own widget would post it."""

    def __init__(self, widget, text):
        super().__init__()
        self.widget, self.text = widget, text

    def render(self, name, value, attrs=None, renderer=None):
        posted = self.widget.format_value(value)
        return format_html('<span class="locked-value">{}</span><input type="hidden" name="{}" value="{}">',
                           self.text, name, "" if posted is None else posted)

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class LockedRowsFormSetMixin:
    """For an inline formset of monthly reports: an approved row's fields become LockedValue widgets."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        instance = form.instance
        if not (instance.pk and instance.is_locked):
            return
        for name, text in LOCKED_TEXT.items():
            field = form.fields.get(name)
            if field is not None:
                field.widget = LockedValue(field.widget, text(getattr(instance, name)))
        if forms.formsets.DELETION_FIELD_NAME in form.fields:
            form.fields[forms.formsets.DELETION_FIELD_NAME].widget.attrs.update(
                disabled=True, title=gettext("已审核，已锁定；如需修改，请审核人撤销审核。"))
        form.locked = True

