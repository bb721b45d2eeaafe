"""The monthly bulletin (调度通报) as a Word document (python-docx): what government offices edit and circulate.

Laid out roughly as 公文 are (GB/T 9704): A4, margins 37 / 35 / 28 / 26 mm (top, bottom, left, right), the title
in 方正小标宋简体 (falling back to 黑体, then 宋体), headings in 黑体, the body in 仿宋_GB2312 (falling back to
仿宋). Word and WPS pick a Chinese font by the run's w:eastAsia name, not its Latin one, so every style names
it there; the fallbacks are the fonts' w:altName in the font table, which both read when the first is not
installed. Words are in the active language (services.bulletin_generate sets it); figures are written as the
site writes them (domain.figures.figure_text, 亿元 in summaries)."""

import io
from decimal import Decimal

from django.utils.translation import gettext as _
from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree

from projects.domain.figures import figure_text

LATIN_FONT = "Times New Roman"
BODY_FONT, BODY_FALLBACK = "仿宋_GB2312", "仿宋"
HEADING_FONT = "黑体"
TITLE_FONT, TITLE_FALLBACKS = "方正小标宋简体", ("黑体", "宋体")
# The font table entries: name -> (fallback, family, pitch). charset 86 is GB2312.
FONT_TABLE = {
    BODY_FONT: (BODY_FALLBACK, "modern", "fixed"),
    BODY_FALLBACK: ("FangSong", "modern", "fixed"),
    HEADING_FONT: ("SimHei", "modern", "fixed"),
    TITLE_FONT: (",".join(TITLE_FALLBACKS), "script", "variable"),
    "宋体": ("SimSun", "auto", "variable"),
}
# GB/T 9704: 二号 title, 三号 body and headings; tables one size down to 小四 / 五号.
TITLE_SIZE, BODY_SIZE, TABLE_SIZE, SMALL_SIZE = Pt(22), Pt(16), Pt(10.5), Pt(9)
MARGINS = {"top_margin": Mm(37), "bottom_margin": Mm(35), "left_margin": Mm(28), "right_margin": Mm(26)}
A4 = (Mm(210), Mm(297))
RED = RGBColor(0xC0, 0x00, 0x00)


def pct(value):
    """A rate as the site shows it (the `pct` filter): one decimal and a percent sign, "—" for none."""
    return "—" if value in (None, "") else f"{Decimal(value):,.1f}%"


def yi(value):
    return figure_text(value, "亿元")


def count(value):
    return figure_text(value)


def date_text(day):
    return _("%(year)d年%(month)d月%(day)d日") % {"year": day.year, "month": day.month, "day": day.day}


def month_text(month):
    return _("%(year)d年%(month)d月") % {"year": month.year, "month": month.month}


# --- Fonts and styles -----------------------------------------------------------------------------------


def set_fonts(element, east_asia, latin=LATIN_FONT):
    """Name a style's or run's fonts: Latin and East Asian, replacing theme fonts (which would win)."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _style(document, name, *, font, size, bold=False, color=RGBColor(0, 0, 0)):
    style = document.styles[name]
    style.font.name = LATIN_FONT
    style.font.size = size
    style.font.bold = bold
    style.font.italic = False
    style.font.color.rgb = color
    set_fonts(style.element, font)
    return style


def _font_table(document):
    """Declare the Chinese fonts with their fallbacks (w:altName) in word/fontTable.xml."""
    part = next(p for p in document.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    root = etree.fromstring(part.blob)
    for name, (alternative, family, pitch) in FONT_TABLE.items():
        for old in root.findall(qn("w:font")):
            if old.get(qn("w:name")) == name:
                root.remove(old)
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), name)
        for tag, value in (("w:altName", alternative), ("w:charset", "86"), ("w:family", family), ("w:pitch", pitch)):
            etree.SubElement(font, qn(tag)).set(qn("w:val"), value)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def new_document():
    """An empty A4 document with the bulletin's page, fonts and styles."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = A4
    for name, value in MARGINS.items():
        setattr(section, name, value)
    normal = _style(document, "Normal", font=BODY_FONT, size=BODY_SIZE)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = Pt(28)
    _style(document, "Title", font=TITLE_FONT, size=TITLE_SIZE, color=RED)
    title = document.styles["Title"]
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(6)
    # The template's Title draws a blue rule under it: the bulletin draws its own red one.
    for border in title.element.findall(".//" + qn("w:pBdr")):
        border.getparent().remove(border)
    for name in ("Heading 1", "Heading 2"):
        heading = _style(document, name, font=HEADING_FONT, size=BODY_SIZE)
        heading.paragraph_format.space_before = Pt(12)
        heading.paragraph_format.space_after = Pt(6)
    table = document.styles["Table Grid"]
    table.font.size = TABLE_SIZE
    set_fonts(table.element, BODY_FONT)
    _font_table(document)
    page_numbers(document)
    return document


# --- Building blocks ------------------------------------------------------------------------------------


def paragraph(document, text="", *, indent=True, size=None, align=None, bold=False, color=None):
    """A body paragraph, first line indented two characters as 公文 are."""
    para = document.add_paragraph()
    if indent:
        para.paragraph_format.first_line_indent = Pt(32)
    if align is not None:
        para.alignment = align
    if text:
        run = para.add_run(text)
        run.bold = bold or None
        if size is not None:
            run.font.size = size
            para.paragraph_format.line_spacing = 1.15  # the body's fixed 28 pt is for 三号 only
        if color is not None:
            run.font.color.rgb = color
    return para


def red_rule(para):
    """A red line under a paragraph (the 红头's separator)."""
    ppr = para._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "4"), ("w:color", "C00000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.append(borders)


def _repeat_header(row):
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def table(document, headings, rows, *, numeric=(), size=TABLE_SIZE, widths=None):
    """A bordered table with a header row (repeated on every page) in 黑体; `numeric` columns right-aligned."""
    grid = document.add_table(rows=1, cols=len(headings))
    grid.style = document.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    head = grid.rows[0]
    _repeat_header(head)
    for cell, text in zip(head.cells, headings):
        _cell_text(cell, text, size=size, font=HEADING_FONT, align=WD_ALIGN_PARAGRAPH.CENTER)
    for values in rows:
        cells = grid.add_row().cells
        for index, (cell, value) in enumerate(zip(cells, values)):
            align = WD_ALIGN_PARAGRAPH.RIGHT if index in numeric else WD_ALIGN_PARAGRAPH.LEFT
            _cell_text(cell, "" if value is None else str(value), size=size, align=align)
    if widths:
        # Word reads the cells' widths, LibreOffice and WPS the grid's: both are set.
        grid.autofit = False
        for column, width in zip(grid.columns, widths):
            column.width = width
        for row in grid.rows:
            for cell, width in zip(row.cells, widths):
                cell.width = width
    return grid


def widths(first, *, total, count):
    """Column widths: the `first` ones as given (Mm), the rest of `count` sharing what is left of `total`."""
    rest = (total - sum(first)) / (count - len(first))
    return [Mm(width) for width in first] + [Mm(rest)] * (count - len(first))


TEXT_WIDTH_MM = 210 - 28 - 26  # portrait
LANDSCAPE_TEXT_WIDTH_MM = 297 - 37 - 35


def _cell_text(cell, text, *, size, align, font=None):
    para = cell.paragraphs[0]
    para.alignment = align
    para.paragraph_format.first_line_indent = Pt(0)
    para.paragraph_format.line_spacing = 1.0
    run = para.add_run(text)
    run.font.size = size
    if font:
        run.font.name = LATIN_FONT
        set_fonts(run._r, font)


def heading(document, text, level=1):
    return document.add_heading(text, level=level)


def landscape(document):
    """Start a landscape section (a wide table), keeping the margins (turned with the page)."""
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = A4[1], A4[0]
    section.top_margin, section.bottom_margin = MARGINS["left_margin"], MARGINS["right_margin"]
    section.left_margin, section.right_margin = MARGINS["top_margin"], MARGINS["bottom_margin"]
    return section


def portrait(document):
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = A4
    for name, value in MARGINS.items():
        setattr(section, name, value)
    return section


def header_block(document, *, title, number, issuer, issued_on):
    """The 红头: the title, the number (期号), the issuing unit and date on one line, a red rule."""
    document.add_paragraph(title, style="Title")
    paragraph(document, number, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    line = paragraph(document, indent=False)
    text_width = A4[0] - MARGINS["left_margin"] - MARGINS["right_margin"]
    line.paragraph_format.tab_stops.add_tab_stop(text_width, WD_TAB_ALIGNMENT.RIGHT)
    line.add_run(f"{issuer}\t{date_text(issued_on)}")
    red_rule(line)


def page_numbers(document):
    """公文's page number at the foot of every page: "— 1 —" (the later sections link to this footer)."""
    para = document.sections[0].footer.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    para.add_run("— ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    para._p.append(field)
    para.add_run(" —")
    for run in para.runs:
        run.font.size = Pt(14)


def to_bytes(document):
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
