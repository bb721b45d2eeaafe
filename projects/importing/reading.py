"""Reading files as they arrive (xlsx, legacy xls, csv in UTF-8 or GB18030) and the cells in them."""

import csv
import datetime
import io
import re
import unicodedata
import zipfile

from django.conf import settings
from django.utils.translation import gettext as _

from projects.domain.names import normalize_name
from projects.domain.template import FORMULA_STARTS
from projects.importing.results import ImportFileError

DATE_RE = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*(?:月)?\s*(?:[-./]?\s*(\d{1,2})\s*日?)?$")
# 建设起止年限 as lists write it: 2023-2025, 2024年, and with months 2022.6-2024.12, 2023年5月-2024年10月 (issue 25).
_PERIOD_END = r"(\d{4})\s*(?:年\s*)?(?:[./年]\s*(\d{1,2})\s*月?|(?<=年)\s*(\d{1,2})\s*月)?"
PERIOD_RE = re.compile(rf"^{_PERIOD_END}\s*(?:[-—–~～至到]+\s*{_PERIOD_END})?\s*$")


# --- Reading files ------------------------------------------------------------------------------------


def iter_rows(data, filename):
    """The file's rows, one at a time, as (sheet row number, list of cell values)."""
    if not data:
        raise ImportFileError(_("文件是空的。"))
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(_("文件超过 %(limit)d MB 的上限。") % {"limit": settings.IMPORT_MAX_BYTES // 2**20})
    name = filename.lower()
    if name.endswith(".csv"):
        return _read_csv(data)
    if name.endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        return _read_xlsx(data)
    if name.endswith(".xls") or data[:8] == OLE2_SIGNATURE:
        return _read_xls(data)
    raise ImportFileError(_("只接受 xlsx、xls 或 csv 文件。"))


def _read_csv(data):
    for encoding in ("utf-8-sig", "gb18030"):  # what Excel saves as "CSV UTF-8" and as plain Chinese CSV
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(_("无法识别 CSV 文件的编码，请另存为 UTF-8 或 GB18030。"))
    return enumerate(csv.reader(io.StringIO(text)), start=1)


def _read_xlsx(data):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        # A few kilobytes can unpack to gigabytes: judge the uncompressed size before any parsing.
        unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ImportFileError(_("文件不是有效的 xlsx 工作簿。")) from None
    if unpacked > settings.IMPORT_MAX_UNPACKED_BYTES:
        raise ImportFileError(_("工作簿解压后过大（%(size)d MB），拒绝处理。") % {"size": unpacked // 2**20})
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise ImportFileError(_("无法读取工作簿：%(error)s") % {"error": error}) from None
    _refuse_uncalculated_formulas(data)
    return _sheet_rows(workbook, sheet)


def _refuse_uncalculated_formulas(data):
    """A formula whose result was never calculated (a workbook written by a program and never opened in
    Excel) reads as empty: 总投资 =Q5*3 would import as 0. Such cells are named and the file refused."""
    cells = uncalculated_formula_cells(data)
    if cells:
        shown = "、".join(_("第 %(row)s 行 %(column)s 列") % cell for cell in cells[:10])
        raise ImportFileError(
            _("%(cells)s%(more)s是没有计算结果的公式。请用 Excel 打开并保存该文件（会算出结果），或直接填写数值。")
            % {"cells": shown, "more": _(" 等 %(count)d 处") % {"count": len(cells)} if len(cells) > 10 else ""}
        )


FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
CELL_REFERENCE = re.compile(r"^([A-Z]+)(\d+)$")


def uncalculated_formula_cells(data):
    """The first sheet's formula cells that hold no calculated value, as [{"row", "column"}]. A byte scan
    first: most lists hold no formula at all and are not parsed twice."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        path = _first_sheet_path(archive)
        with archive.open(path) as sheet:
            tail = b""
            while block := sheet.read(1 << 20):
                if FORMULA_TAG.search(tail + block):
                    break
                tail = block[-16:]
            else:
                return []
        from defusedxml.ElementTree import iterparse

        cells = []
        with archive.open(path) as sheet:
            for _event, element in iterparse(sheet):
                if element.tag.endswith("}c"):
                    formula = next((child for child in element if child.tag.endswith("}f")), None)
                    value = next((child for child in element if child.tag.endswith("}v")), None)
                    if formula is not None and (value is None or not (value.text or "").strip()):
                        match = CELL_REFERENCE.match(element.get("r") or "")
                        if match:
                            cells.append({"column": match[1], "row": int(match[2])})
                    element.clear()
                elif element.tag.endswith("}row"):
                    element.clear()
        return cells


OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _read_xls(data):
    """Legacy Excel 97–2003 workbooks (BIFF, as WPS and older Excel save them): the first sheet's values,
    dates as dates, empty cells as None, as the xlsx reader gives them."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
        sheet = book.sheet_by_index(0)
    except Exception as error:  # xlrd raises many kinds for a damaged file
        raise ImportFileError(_("无法读取 xls 工作簿：%(error)s") % {"error": error}) from None
    return _xls_rows(book, sheet)


def _xls_rows(book, sheet):
    import xlrd

    try:
        for index in range(sheet.nrows):
            row = []
            for cell in sheet.row(index):
                if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    row.append(None)
                elif cell.ctype == xlrd.XL_CELL_DATE:
                    row.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    row.append(bool(cell.value))
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    row.append(xlrd.error_text_from_code.get(cell.value, "#ERROR"))  # as openpyxl gives #REF!
                else:
                    row.append(cell.value)
            yield index + 1, row
    finally:
        book.release_resources()


def _sheet_rows(workbook, sheet):
    try:
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        workbook.close()


# --- Cells --------------------------------------------------------------------------------------------


def clean_text(value):
    """Trimmed text with full-width letters, digits and spaces made half-width; None for empty."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\u3000", " ").strip()
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        text = text[1:]  # the escape our export (and careful users) put before formula-like text
    return text or None


# Free text that means "nothing" (issue 25): 无, 暂无, 无问题 ... and cells of dashes or slashes (—, -, ／, /).
# A coordination problem reading 无 is no problem; an owner reading / is no owner. Compared without spaces,
# half-width, lower case, without a closing full stop.
EMPTY_MEANING_WORDS = frozenset({
    "无", "暂无", "没有", "暂没有", "无问题", "暂无问题", "没有问题", "无困难", "暂无困难", "无困难问题", "暂无困难问题",
    "无需协调", "暂无需协调", "无需协调事项", "无需协调解决", "无需协调解决的问题", "无需解决", "不涉及", "无此项",
    "空", "n/a", "na", "none", "nil", "null",
})
EMPTY_MARK_RE = re.compile(r"^[-—–―－~～/／\\、.。·…_＿\s]+$")


def is_empty_meaning(text):
    """Whether a cell's text says there is nothing (无, 暂无, 无问题, —, /): the one rule wherever free text or
    an amount is imported, so that 无 never opens a problem nor — fails as a number."""
    if text is None:
        return True
    key = unicodedata.normalize("NFKC", str(text)).replace(" ", "").lower().rstrip("。.；;!！")
    return not key or key in EMPTY_MEANING_WORDS or bool(EMPTY_MARK_RE.match(key))


def clean_free_text(value):
    """Free text as imported (项目单位, 备注, 形象进度, 存在问题 ...): clean_text, and None for a cell that says
    there is nothing (is_empty_meaning)."""
    text = clean_text(value)
    return None if text is None or is_empty_meaning(text) else text


def name_text(value):
    """A project's name cell as stored and matched: clean_text, then its whitespace as names.normalize_name
    makes it (a line break inside a name is no part of it); None for empty."""
    text = clean_text(value)
    return normalize_name(text) or None if text is not None else None


def parse_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = DATE_RE.match(text)
    if not match:
        raise ValueError(_("“%(value)s”不是可识别的日期（如 2023-03、2023.03、2023年3月、2023/3/15）") % {"value": text})
    year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise ValueError(_("“%(value)s”不是有效日期") % {"value": text}) from None


def parse_period(text):
    """建设起止年限 as (start year, end year): 2023-2025, 2024年, 2022.6-2024.12, 2023年5月-2024年10月."""
    match = PERIOD_RE.match(unicodedata.normalize("NFKC", text).strip())
    if not match:
        raise ValueError(_("“%(value)s”应为“2023-2025”或“2022.6-2024.12”的形式") % {"value": text})
    start, start_month = int(match[1]), int(match[2] or match[3] or 0)
    end, end_month = int(match[4] or match[1]), int(match[5] or match[6] or 0)
    if not (0 <= start_month <= 12 and 0 <= end_month <= 12):
        raise ValueError(_("“%(value)s”中的月份不存在") % {"value": text})
    if (start, start_month) > (end, end_month or 12):
        raise ValueError(_("起始年份晚于结束年份"))
    return start, end


ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
XLSX_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def count_rows(data, filename):
    """The rows of the file's first sheet, counted in the file itself: an xlsx's size tag is missing in
    workbooks written by streaming writers (ours and most generated lists), so the sheet's row elements
    are counted while it is decompressed a block at a time (fast, bounded memory)."""
    if filename.lower().endswith(".csv"):
        return data.count(b"\n")
    if data[:8] == OLE2_SIGNATURE:
        import xlrd

        try:
            return xlrd.open_workbook(file_contents=data, on_demand=True).sheet_by_index(0).nrows
        except Exception:
            return 0  # unreadable: the import itself will say why
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(_first_sheet_path(archive)) as sheet:
            rows, tail = 0, b""
            while block := sheet.read(1 << 20):
                text = tail + block
                # A tag cut at the block's end is counted with the next block.
                cut = max(0, len(text) - 16)
                rows += len(ROW_TAG.findall(text, 0, cut))
                tail = text[cut:]
            return rows + len(ROW_TAG.findall(tail))
    except (zipfile.BadZipFile, KeyError, ValueError, IndexError):
        return 0  # unreadable: the import itself will say why


def _first_sheet_path(archive):
    from defusedxml import ElementTree

    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    first = next(element for element in book.iter() if element.tag.endswith("}sheet"))
    relation_id = first.get(XLSX_RELATIONSHIP)
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(element.get("Target") for element in relations if element.get("Id") == relation_id)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
