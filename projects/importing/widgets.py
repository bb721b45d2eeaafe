"""The provincial list's cells as django-import-export widgets: each reads one kind of cell as lists write
it (reading.py's parsers) against the lookup tables loaded once per import (catalogues.Catalogues, bound
by the resource in `before_import`). A wrong cell raises ValueError; the resource names its row and column."""

import datetime
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import widgets

from projects.domain.choices import Stage
from projects.domain.figures import parse_money
from projects.importing.reading import (
    clean_free_text,
    clean_text,
    is_empty_meaning,
    name_text,
    parse_date,
    parse_period,
)
from projects.models import normalize_project_code, validate_project_code

LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")


class CatalogueWidget(widgets.Widget):
    """A widget that reads against the import's lookup tables (set by the resource before the rows)."""

    catalogues = None

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class CodeWidget(CatalogueWidget):
    """项目代码: full-width and dashes as people type them, checked as the national code (its division
    must exist). An empty cell is None: it never takes a project's code away."""

    def clean(self, value, row=None, **kwargs):
        text = clean_text(value)
        if text is None:
            return None
        code = normalize_project_code(unicodedata.normalize("NFKC", text))
        try:
            validate_project_code(code, known_division=self.catalogues.regions_by_code.__contains__)
        except ValidationError as error:
            raise ValueError(" ".join(error.messages)) from None
        return code


class CityWidget(CatalogueWidget):
    """所属市 by code, name or short form (石家庄, 石家庄市, 130100)."""

    def clean(self, value, row=None, **kwargs):
        text = clean_text(value)
        return None if text is None else self.catalogues.city(text)


class CountyWidget(CatalogueWidget):
    """所属县（市、区） within the row's city (桥西区 is in two cities); 市直 / the city's own name is None."""

    def clean(self, value, row=None, **kwargs):
        text = clean_text(value)
        if text is None:
            return None
        try:
            city = self.catalogues.city(clean_text(row.get("city")) or "")
        except ValueError:
            return None  # the city cell's own error is reported
        return self.catalogues.county(text, city)


class LookupWidget(CatalogueWidget):
    """A catalogue row (五个一批类别, 产业) by its name with or without its suffix (项目, 产业)."""

    def __init__(self, table, suffix, what, **kwargs):
        super().__init__(**kwargs)
        self.table, self.suffix, self.what = table, suffix, what

    def clean(self, value, row=None, **kwargs):
        text = clean_text(value)
        if text is None:
            return None
        return self.catalogues.lookup(getattr(self.catalogues, self.table), text, self.suffix, _(self.what))


class StageWidget(CatalogueWidget):
    """建设阶段 as lists write it (续建, 在建, 计划开工 ...); an empty cell is 前期."""

    def clean(self, value, row=None, **kwargs):
        text = clean_text(value)
        return Stage.PREPARATORY if text is None else self.catalogues.stage(text)


class LinksWidget(CatalogueWidget):
    """Several programmes or actions in one cell (重大产业项目、技术改造项目; 1、3、八项行动之名): a set of keys."""

    def __init__(self, kind, **kwargs):
        super().__init__(**kwargs)
        self.kind = kind

    def clean(self, value, row=None, **kwargs):
        keys, errors = set(), []
        for item in LIST_SEPARATORS.split(clean_text(value) or ""):
            if not item:
                continue
            try:
                if self.kind == "actions":
                    keys.add(self.catalogues.action(item).pk)
                else:
                    keys.add(self.catalogues.lookup(self.catalogues.programmes, item, "项目", _("项目类别")).pk)
            except ValueError as error:
                errors.append(str(error))
        if errors:
            raise ValueError("；".join(errors))
        return keys


# An approximate amount as lists write it (issue 25): 约300, 大约 1.5, 300左右 — read as the number, and said.
APPROXIMATE_RE = re.compile(r"^(?:约|大约|约计|预计)\s*(?P<before>.+?)$|^(?P<after>.+?)\s*左右$")


class MoneyWidget(widgets.Widget):
    """An amount in the column's unit (its heading's, else the note's above the header), stored in 万元.
    A cell saying there is nothing (—, -, ／, 无: reading.is_empty_meaning) is blank; an approximate amount
    (约300) is read as its number and kept in `approximate` for the resource to say so, by row and column."""

    unit = 1  # set by the resource for the column found

    def __init__(self, *, validators=(), **kwargs):
        super().__init__(**kwargs)
        self.validators = validators  # the column's rules beyond every amount's (figures)
        self.approximate = []  # the approximate cells read since the resource last looked

    def clean(self, value, row=None, **kwargs):
        text = clean_text(value)
        if text is None or is_empty_meaning(text):
            return None
        approximate = APPROXIMATE_RE.match(text)
        if approximate:
            number = (approximate["before"] or approximate["after"]).strip()
            amount = parse_money(number, self.unit, self.validators)
            self.approximate.append((text, number))
            return amount
        return parse_money(text, self.unit, self.validators)


class MonthWidget(widgets.Widget):
    """A date as lists write it: a real date cell, 2023-03, 2023.03, 2023年3月, 2023/3/15. Written back so
    that it reads as the same day: 2027-09-16 in full, a date on the 1st as its month (2027-09)."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, datetime.date):
            return parse_date(value)
        text = clean_text(value)
        return None if text is None else parse_date(text)

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return f"{value:%Y-%m}" if value.day == 1 else value.isoformat()


class PeriodWidget(widgets.Widget):
    """建设起止年限 (2023-2025, 2024年): (start year, end year)."""

    def clean(self, value, row=None, **kwargs):
        text = clean_text(value)
        return (None, None) if text is None else parse_period(text)


class TextWidget(widgets.CharWidget):
    """Text trimmed, full-width made half-width, a leading ' before formula-like text dropped (our export's)."""

    def clean(self, value, row=None, **kwargs):
        return clean_text(value) or ""


class FreeTextWidget(TextWidget):
    """Free text (项目单位, 建设内容, 备注, 形象进度, 存在问题, 说明 ...): as TextWidget, and empty when the cell
    says there is nothing — 无, 暂无, 无问题, —, / (reading.is_empty_meaning, the one rule for it)."""

    def clean(self, value, row=None, **kwargs):
        return clean_free_text(value) or ""


class NameWidget(TextWidget):
    """A project's name: its whitespace as names are stored and matched (a line break in the cell dropped)."""

    def clean(self, value, row=None, **kwargs):
        return name_text(value) or ""
