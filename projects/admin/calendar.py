"""The working-day calendar: the days the province enters before the calendar package knows a year."""

from django.contrib import admin, messages
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from projects.domain import rules, workdays
from projects.models import WorkdayOverride

UNCOVERED_YEAR_WARNING = _(
    "%(year)s 年的法定节假日和调休安排尚未录入（日历组件未包含该年），截止日期暂按周末休息计算。"
    "请在此录入该年的放假和调休日期。"
)


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(admin.ModelAdmin):
    list_display = ["date", "weekday", "is_workday", "note"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"
    search_fields = ["note"]

    @admin.display(description=_("星期"), ordering="date")
    def weekday(self, override):
        return WEEKDAYS[override.date.weekday()]

    def changelist_view(self, request, extra_context=None):
        # Once per page view, not again on the redirect after a bulk action's POST.
        if request.method == "GET":
            this_year = rules.today().year
            for year in (this_year, this_year + 1):
                if not workdays.year_is_covered(year):
                    messages.warning(request, UNCOVERED_YEAR_WARNING % {"year": year})
        return super().changelist_view(request, extra_context)
