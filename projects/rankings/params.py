"""The ranking's parameters as the page, the export and the API read them: ?month=YYYY-MM (default the latest
month whose reports were due) and ?level=city|county (default the reader's); a bad one is named in the error."""

import datetime

from django.utils.translation import gettext as _

from projects.domain import rules
from projects.rankings.reads import LEVELS, default_level, default_month, levels_for


class BadParameter(ValueError):
    """A parameter that cannot be read: .name is the parameter, str() the message."""

    def __init__(self, name, message):
        super().__init__(message)
        self.name = name


def read_params(data, user):
    """(month, level) from a query dict, or BadParameter."""
    raw = (data.get("month") or "").strip()
    if raw:
        try:
            month = datetime.date.fromisoformat(f"{raw}-01")
        except ValueError:
            raise BadParameter("month", _("参数 month 应为 YYYY-MM 格式的月份。")) from None
        if not 2000 <= month.year <= 2100:
            raise BadParameter("month", _("参数 month 应为 YYYY-MM 格式的月份。"))
        if month > rules.month_start(rules.today()):  # the running month ranks as of today, as its bulletin does
            raise BadParameter("month", _("该月尚未开始，不能排名：参数 month 最晚为本月。"))
    else:
        month = default_month()
    level = (data.get("level") or "").strip() or default_level(user)
    if level not in LEVELS:
        raise BadParameter("level", _("参数 level 应为 city 或 county。"))
    if level not in levels_for(user):
        raise BadParameter("level", _("县（市、区）只能查看本市各县（市、区）的排名：参数 level 应为 county。"))
    return month, level
