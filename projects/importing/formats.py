"""django-import-export's file formats, read through this package's reader and written escaped.

Reading goes through `reading.iter_rows`, as the provincial list's does: xlsx (a formula Excel never
calculated is refused by cell), legacy xls, csv in UTF-8 with or without BOM or GB18030. Writing puts every
text cell through `exporting.escape_formula`, the one function that keeps names that look like formulas
text in a spreadsheet. Nothing else parses a cell.
"""

import tablib
from import_export.formats import base_formats

from projects.domain.template import escape_formula
from projects.importing.reading import clean_text, iter_rows


class ReadThroughOurReader:
    """Mixed into a tablib format: the uploaded bytes go to our reader; the first non-empty row is the header."""

    extension = None

    def is_binary(self):
        return True  # the reader decides the text encoding (UTF-8 or GB18030), not the admin

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        """The first sheet's rows under its first non-empty row; empty rows passed over. Each row's number
        in the sheet is kept (`dataset.sheet_rows`) so that errors name the row people see."""
        if isinstance(in_stream, str):
            in_stream = in_stream.encode("utf-8")
        rows = [
            (number, cells) for number, cells in iter_rows(in_stream, f"upload.{self.extension}")
            if any(clean_text(cell) is not None for cell in cells)
        ]
        dataset = tablib.Dataset()
        dataset.sheet_rows = [number for number, _cells in rows[1:]]
        if not rows:
            return dataset
        headers = [clean_text(cell) or "" for cell in rows[0][1]]
        while headers and not headers[-1]:
            headers.pop()
        dataset.headers = headers
        for _number, cells in rows[1:]:
            cells = ["" if cell is None else cell for cell in list(cells)[: len(headers)]]  # the widgets read "" as empty
            dataset.append(cells + [""] * (len(headers) - len(cells)))
        return dataset

    def export_data(self, dataset, **kwargs):
        escaped = tablib.Dataset(headers=dataset.headers)
        for row in dataset:
            escaped.append([escape_formula(value) for value in row])
        return escaped.export(self.get_title(), **kwargs)


class XLSX(ReadThroughOurReader, base_formats.XLSX):
    extension = "xlsx"


class XLS(ReadThroughOurReader, base_formats.XLS):
    """Read only: legacy workbooks arrive; the app writes xlsx. Our reader reads them (xlrd), so tablib's
    own xls format, which it registers only when xlwt (a writer) is installed too, is never asked for."""

    extension = "xls"

    def get_title(self):
        return "xls"

    def get_extension(self):
        return "xls"

    def can_import(self):
        return True

    def can_export(self):
        return False


class CSV(ReadThroughOurReader, base_formats.CSV):
    extension = "csv"

    def export_data(self, dataset, **kwargs):
        return "\ufeff" + super().export_data(dataset, **kwargs)  # the BOM tells Excel it is UTF-8


class JSON(base_formats.JSON):
    pass


FORMATS = [XLSX, XLS, CSV, JSON]
