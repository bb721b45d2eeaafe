"""The downloadable template of a provincial project list (SPEC §5): `template_workbook`, an empty list as
the province sends it — title, units note, the header the import reads (the export's columns, then a
planned-date column per active project node) and drop-down lists of stages, programmes, 五个一批 batches
and actions, kept on a second sheet. What a user fills in imports through import_projects (project_import.py).
"""

import io

from django.utils import translation

from actions.models import Action
from projects.domain.choices import Stage
from projects.domain.template import COLUMNS as EXPORT_COLUMNS
from projects.domain.template import escape_formula
from projects.importing.headers import HEADERS
from projects.models import Batch, MilestoneKind, Programme

# --- The downloadable template ------------------------------------------------------------------------


def template_workbook(*, year):
    """An empty list in the provincial template: title, units note, header, and drop-down lists."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "项目清单"
    sheet.append([f"河北省{year}年重点项目清单"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["单位：万元。项目类别、八项行动可填多个，用“、”分隔；日期可写 2023-03、2023年3月 或 2023/3/15。"])
    # The province's project nodes are optional columns: a planned date each.
    nodes = [f"{kind.name}计划日期" for kind in MilestoneKind.objects.filter(is_active=True)]
    headers = ["序号"] + [header for header, _alias in EXPORT_COLUMNS] + nodes
    sheet.append(headers)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    # Lists for the drop-downs live on a second sheet (a list in the formula itself is limited to 255 chars).
    lists = book.create_sheet("选项")
    with translation.override("zh-hans"):
        options = {
            "stage": [str(label) for _value, label in Stage.choices],
            "programmes": list(Programme.objects.values_list("name", flat=True)),
            "batch": list(Batch.objects.values_list("name", flat=True)),
            "actions": [f"{a.number}" for a in Action.objects.filter(plan__is_primary=True)]
            + list(Action.objects.values_list("name", flat=True)),
        }
    for index, (key, values) in enumerate(options.items(), start=1):
        column = chr(ord("A") + index - 1)
        lists.cell(row=1, column=index, value=HEADERS[key][0])
        for row, value in enumerate(values, start=2):
            lists.cell(row=row, column=index, value=escape_formula(value))  # catalogue names are text, never formulas
        target = chr(ord("A") + headers.index(HEADERS[key][0]))
        validation = DataValidation(
            type="list",
            formula1=f"'选项'!${column}$2:${column}${len(values) + 1}",
            allow_blank=True,
            showErrorMessage=key == "stage",  # several programmes or actions may be typed into one cell
        )
        sheet.add_data_validation(validation)
        validation.add(f"{target}4:{target}5000")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
