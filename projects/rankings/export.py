"""The ranking as an .xlsx workbook (openpyxl): a header row naming the month and the scope, then the page's table:
rank, change, unit, score, and each indicator's value, rank and change."""

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from projects.domain import ranking as ranking_rules
from projects.rankings.scoring import PERCENT


def scope_title(ranking):
    """E.g. "2026年10月 石家庄市 各县（市、区）排名"."""
    scope = str(ranking.scope) if ranking.scope else _("全省")
    units = _("各市") if ranking.level == "city" else _("各县（市、区）")
    return _("%(year)s年%(month)s月 %(scope)s %(units)s排名") % {
        "year": ranking.month.year, "month": ranking.month.month, "scope": scope, "units": units}


def table_rows(ranking):
    """[header, *rows] of the table as the page shows it."""
    header = [_("排名"), _("较上月"), _("单位"), _("综合得分")]
    for _value, label, weight in ranking.weights:
        header += [_("%(label)s（权重 %(weight)s）") % {"label": label, "weight": weight}, _("名次"), _("较上月")]
    rows = [header]
    for row in ranking.rows:
        line = [row.rank if row.ranked else (_("无项目") if row.projects == 0 else "—"),
                ranking_rules.change_text(row.rank_change), str(row.region),
                row.score if row.score is not None else ""]
        for indicator, _label, _weight in ranking.weights:
            cell = row.cells[indicator]
            # The value as a number (a share in percent as a fraction, shown as %): sortable and summable.
            value = cell.value if cell.value is None or indicator not in PERCENT else cell.value / 100
            line += [value if value is not None else "—", cell.rank or "", ranking_rules.change_text(cell.change)]
        rows.append(line)
    return rows


def workbook_bytes(ranking):
    book = Workbook()
    sheet = book.active
    sheet.title = _("排名")
    sheet.append([scope_title(ranking)])
    sheet["A1"].font = Font(bold=True, size=14)
    for index, line in enumerate(table_rows(ranking)):
        sheet.append(line)
        if index == 0:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
            continue
        for position, (indicator, _label, _weight) in enumerate(ranking.weights):
            cell = sheet.cell(row=sheet.max_row, column=5 + 3 * position)
            if isinstance(cell.value, (int, float)):
                cell.number_format = "0.0%" if indicator in PERCENT else "0.0" if isinstance(cell.value, float) else "0"
    sheet.column_dimensions["C"].width = 24
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
