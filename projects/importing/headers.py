"""Finding the header row under title and note rows, and which column is which; rows to pass over."""

import re
import unicodedata
from decimal import Decimal

from django.utils.translation import gettext as _

from ..exporting import COLUMNS as EXPORT_COLUMNS
from .results import ImportFileError

SUBTOTAL_WORDS = ("合计", "小计", "总计")
HEADER_SEARCH_ROWS = 30
YEAR_IN_TITLE_RE = re.compile(r"(20\d{2})\s*年")


HEADERS = {"seq": ("序号", "no")} | {alias: (header, alias) for header, alias, _get in EXPORT_COLUMNS}


def header_key(value, headers=None):
    """Header text to (key, unit factor): ignores spaces, full/half width, and the unit in brackets."""
    text = unicodedata.normalize("NFKC", str(value or "")).replace(" ", "").lower()
    factor = Decimal(10000) if "亿元" in text else Decimal(1)
    bare = re.sub(r"\(.*?\)", "", text)
    for key, (chinese, alias) in (headers or HEADERS).items():
        if bare in (re.sub(r"\(.*?\)", "", unicodedata.normalize("NFKC", chinese)).lower(), alias):
            return key, factor
    return None, factor


# --- Parsing a sheet ----------------------------------------------------------------------------------


def find_header(rows, headers=None):
    """(index of the header row in `rows`, {key: (column index, unit factor)})."""
    for index, (_number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = {}
        for position, cell in enumerate(cells):
            key, factor = header_key(cell, headers)
            if key and key not in columns:
                columns[key] = (position, factor)
        if "name" in columns and len(columns) >= 3:
            return index, columns
    raise ImportFileError(_("没有找到表头行：前 %(rows)d 行中没有包含“项目名称”等列名的行。") % {"rows": HEADER_SEARCH_ROWS})


def year_from_titles(rows):
    for _number, cells in rows:
        for cell in cells:
            match = YEAR_IN_TITLE_RE.search(str(cell or ""))
            if match:
                return int(match[1])
    return None


SECTION_RE = re.compile(r"^([一二三四五六七八九十百]+|\d+)[、.．]|[（(]\s*\d+\s*[项个][)）]$")


def is_passed_over(values):
    """Blank rows, section headings (一、重大产业项目（25项）) and subtotal rows (合计 / 小计 / 总计)."""
    filled = {key: value for key, value in values.items() if value is not None}
    if not filled:
        return True
    seq, name = (filled.get("seq") or "").replace(" ", ""), (filled.get("name") or "").replace(" ", "")
    if any(word in seq or word in name for word in SUBTOTAL_WORDS):
        return True
    if len(filled) == 1:
        (text,) = filled.values()
        return bool(SECTION_RE.search(text.replace(" ", "")))
    return False
