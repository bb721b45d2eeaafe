"""Reading files as they arrive (xlsx, csv in UTF-8 or GB18030) and the cells in them."""

import csv
import datetime
import io
import re
import unicodedata
import zipfile
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.translation import gettext as _

from ..exporting import FORMULA_STARTS
from .results import ImportFileError

DATE_RE = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*(?:月)?\s*(?:[-./]?\s*(\d{1,2})\s*日?)?$")
PERIOD_RE = re.compile(r"^(\d{4})\s*年?\s*(?:[-—–~至到]+\s*(\d{4})\s*年?)?$")


# --- Reading files ------------------------------------------------------------------------------------


def read_rows(data, filename):
    """The file's rows as a list (small files: monthly progress workbooks)."""
    return list(iter_rows(data, filename))


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
    raise ImportFileError(_("只接受 xlsx 或 csv 文件。"))


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
    return _sheet_rows(workbook, sheet)


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


def parse_money(text, factor):
    try:
        amount = Decimal(unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "")) * factor
    except InvalidOperation:
        raise ValueError(_("“%(value)s”不是数字") % {"value": text}) from None
    if not amount.is_finite():
        raise ValueError(_("“%(value)s”不是数字") % {"value": text})
    if amount < 0:
        raise ValueError(_("金额不能为负数"))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(_("“%(value)s”换算为万元后超过两位小数") % {"value": text})
    return amount.quantize(Decimal("0.01"))


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
    match = PERIOD_RE.match(unicodedata.normalize("NFKC", text).strip())
    if not match:
        raise ValueError(_("“%(value)s”应为“2023-2025”的形式") % {"value": text})
    start, end = int(match[1]), int(match[2] or match[1])
    if start > end:
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
