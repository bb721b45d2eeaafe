"""Finding the header row under title and note rows, and which column is which; rows to pass over."""

import datetime
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from projects.domain.template import HEADERS
from projects.importing.reading import is_empty_meaning
from projects.importing.results import ImportFileError
from projects.models import HeaderSynonym

SUBTOTAL_WORDS = ("合计", "小计", "总计")
HEADER_SEARCH_ROWS = 30
YEAR_IN_TITLE_RE = re.compile(r"(20\d{2})\s*年")



# Headings real lists use for the template's columns (集中开工 and 招商引资 lists of cities and counties),
# compared as `heading_text` reduces them: no spaces, half-width, lower case, no bracketed part. The
# province adds more in the admin (HeaderSynonym) without code. A year in a heading (2023年计划投资) is
# dropped before comparing.
HEADER_SYNONYMS = {
    "seq": ["编号", "序"],
    "code": ["项目编码", "项目统一代码", "统一项目代码", "投资项目代码", "项目赋码", "审批监管平台代码"],
    "name": ["名称", "项目", "项目名", "签约项目名称", "招商项目名称"],
    "programmes": ["项目类型", "类别", "项目属性"],
    "batch": ["五个一批类别", "五个一批分类", "项目分类"],
    "stage": ["项目阶段", "建设性质", "阶段", "项目进展阶段"],
    "city": ["市", "设区市", "所属设区市", "地市", "所在市", "所属地市", "所在地市", "落地市", "项目落地市"],
    # Signing lists (签约项目清单) say where a project lands: 落地县区, 项目落地地, 落地县（市、区） (issue 25).
    "county": ["县", "所属县", "所在县", "县区", "县市区", "所属县区", "所属县市区", "所在县区", "县(市、区)", "县(市区)",
               "区县", "所属区县", "所在区县", "落地县", "落地县区", "落地区县", "落地县市区", "项目落地县区", "项目落地地",
               "落地地", "落地地点", "项目落地地点", "所在县市区"],
    "industry": ["产业", "所属行业", "行业", "产业类别", "产业领域", "所属领域"],
    "actions": ["专项行动", "所属行动", "行动"],
    "owner": ["建设单位", "项目业主", "业主单位", "项目法人", "实施单位", "投资主体", "签约企业", "企业名称", "项目建设单位",
              "实施主体", "项目实施主体", "落地企业", "承接企业", "项目承接单位"],
    "scope": ["建设内容", "主要建设内容", "建设规模", "建设内容及规模", "建设规模及内容", "项目概况", "主要内容",
              "项目建设内容", "建设内容和规模", "项目内容", "项目简介"],
    "period": ["建设年限", "起止年限", "建设期限", "建设周期", "建设起止年份", "建设起止时间", "起止时间", "建设起止年月"],
    "planned_start": ["计划开工时间", "开工时间", "计划开工日期", "开工日期", "预计开工时间"],
    "planned_end": ["计划竣工时间", "竣工时间", "计划完工时间", "完工时间", "计划竣工日期", "预计竣工时间", "计划投产时间"],
    "total_investment": ["计划总投资", "概算投资", "项目总投资", "估算总投资", "投资总额", "总投资额", "概算总投资",
                         "项目总投资额", "投资规模", "总投资规模"],
    "annual_plan": ["当年计划投资", "今年计划投资", "年预计投资", "年度投资计划", "本年计划投资", "年计划投资",
                    "年度计划完成投资", "计划投资", "年度计划"],
    "completed_before_year": ["截止上年底累计完成投资", "上年底累计完成投资", "至上年底累计完成投资", "以前年度完成投资",
                              "截至上年底累计完成"],
    "responsible_unit": ["牵头单位", "主管部门", "责任部门", "包联单位", "招商责任单位"],
    "contact": ["项目联系人"],
    "phone": ["电话", "联系方式", "手机"],
    "remarks": ["说明"],
    "investor": ["投资方名称", "投资企业", "投资商", "客商名称", "签约客商", "签约方", "合作方"],
    "investor_region": ["投资方所在地区", "投资方地区", "投资来源地", "客商来源地", "投资方所在省市"],
    "investor_source": ["投资来源", "客商来源", "投资方类别"],
    "signed_on": ["签约日期", "签约年月", "签约时间年月"],
    "signing_event": ["签约活动名称", "签约场合", "签约平台", "签约会议"],
    "contract_amount": ["协议投资额", "签约额", "合同投资额", "签约金额", "签约投资额", "协议金额", "合同金额", "协议总投资"],
    "registered_on": ["注册日期", "工商注册时间", "注册登记时间", "公司注册时间"],
    "actual_start": ["实际开工时间", "实际开工日期"],
    "production_on": ["投产日期", "实际投产时间", "建成投产时间"],
    "terminated_on": ["终止日期", "解约时间"],
}
UNIT_IN_NOTE_RE = re.compile(r"单位[:：]\s*(亿元|万元)")
YEAR_IN_HEADING_RE = re.compile(r"^(19|20)\d{2}年(度)?")
UNIT_FACTORS = {"亿元": Decimal(10000), "万元": Decimal(1)}


def heading_text(value):
    """A heading as compared: no spaces, half-width, lower case, without its bracketed part (the unit)."""
    text = unicodedata.normalize("NFKC", str(value or "")).replace(" ", "").replace("\n", "").lower()
    return YEAR_IN_HEADING_RE.sub("", re.sub(r"\(.*?\)", "", text))


def heading_unit(value):
    """The unit a heading names, as a factor to 万元: （亿元） → 10,000, （万元） → 1, none → None."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    for unit, factor in UNIT_FACTORS.items():
        if unit in text:
            return factor
    return None


class HeaderMap:
    """Which column a heading names: the template's headings, their English aliases, the synonyms real
    lists use, and those the province added in the admin."""

    def __init__(self, headers, synonyms=None):
        self.headers = headers
        self.keys = {}
        for key, (chinese, alias) in headers.items():
            for text in [chinese, alias, *(synonyms or {}).get(key, [])]:
                self.keys.setdefault(heading_text(text), key)

    @classmethod
    def for_project_list(cls):
        synonyms = {key: list(texts) for key, texts in HEADER_SYNONYMS.items()}
        for column, text in HeaderSynonym.objects.values_list("column", "text"):
            synonyms.setdefault(column, []).append(text)
        return cls(HEADERS, synonyms)

    def add(self, headers, synonyms=None):
        """More columns (the province's project nodes): their headings and synonyms, after the template's."""
        self.headers = {**self.headers, **headers}
        for key, (chinese, alias) in headers.items():
            for text in [chinese, alias, *(synonyms or {}).get(key, [])]:
                self.keys.setdefault(heading_text(text), key)

    def key(self, value):
        return self.keys.get(heading_text(value))

    def label(self, key):
        return self.headers[key][0]


@dataclass
class Columns:
    """The header row found: where each known column is and its unit, and what was not recognised. A
    header of two rows (调度表: 2023年 merged over 计划投资 | 1-10月完成) is read as one: `first` is its
    upper row, `index` its lower one (the data begin below `index`)."""

    index: int  # of the (last) header row among the rows searched
    positions: dict  # key -> (column index, unit factor)
    unrecognized: list  # (column index, heading) of the columns that will not be imported
    first: int = None  # of the header's first row (rows above it are titles and notes)
    year: int = None  # a year heading over the columns (2023年 over 计划投资), if any

    def __post_init__(self):
        if self.first is None:
            self.first = self.index

    @property
    def headings(self):
        return [heading for _position, heading in self.unrecognized]

    def __contains__(self, key):
        return key in self.positions

    def __getitem__(self, key):
        return self.positions[key]

    def __iter__(self):
        return iter(self.positions)

    def items(self):
        return self.positions.items()


# --- Parsing a sheet ----------------------------------------------------------------------------------


def find_header(rows, header_map, required="name"):
    """The header row among the first rows (below titles and notes), its columns and their units: a
    heading's own unit, else the unit a note row above names (单位：亿元), else 万元.

    The header is the first row naming the `required` column (项目名称 or a synonym) with two more known
    headings; failing that, the first row naming it at all (a city's own list may have few headings we
    know: 项目名称 | 项目落地地 | 计划总投资). A second header row below it (merged cells: 项目名称 spanning
    both rows, 2023年 over 计划投资 | 1-10月完成) is read with it (`two_row_headings`). No row naming it: the
    message names the row that looks like the header and says what is missing."""
    searched = rows[:HEADER_SEARCH_ROWS]
    keyed = [[header_map.key(cell) for cell in cells] for _number, cells in searched]
    naming = [index for index, keys in enumerate(keyed) if required in keys]
    if not naming:
        raise ImportFileError(_no_header_message(searched, keyed, header_map, required))
    index = next((i for i in naming if len(set(keyed[i]) - {None}) >= 3), naming[0])
    cells, keys = list(searched[index][1]), keyed[index]
    headings = [" ".join(str(cell).split()) if cell is not None else "" for cell in cells]
    last, year = index, None
    if index + 1 < len(searched):
        two_rows = two_row_headings(cells, list(searched[index + 1][1]), header_map, keys.index(required))
        if two_rows is not None:
            headings, keys, year = two_rows
            last = index + 1
    default_unit = Decimal(1)
    for _above, above_cells in rows[:index]:
        for cell in above_cells:
            match = UNIT_IN_NOTE_RE.search(unicodedata.normalize("NFKC", str(cell or "")))
            if match:
                default_unit = UNIT_FACTORS[match[1]]
    positions, unrecognized = {}, []
    for position, (heading, key) in enumerate(zip(headings, keys)):
        if key is None or key in positions:
            if heading:
                unrecognized.append((position, heading))
            continue
        unit = heading_unit(heading)
        positions[key] = (position, unit if unit is not None else default_unit)
    return Columns(last, positions, unrecognized, first=index, year=year)


def _no_header_message(searched, keyed, header_map, required):
    """Why no header was found, as the reader can act on it: the row that looks like the header (most
    headings recognised) and the column it lacks; else that no row has known headings at all."""
    label = header_map.label(required)
    best = max(range(len(keyed)), key=lambda i: len(set(keyed[i]) - {None}), default=None)
    known = [] if best is None else [header_map.label(key) for key in dict.fromkeys(keyed[best]) if key]
    if len(known) >= 2:
        return _("第 %(row)d 行像是表头（识别出：%(known)s），但其中没有“%(label)s”列。请将项目名称所在列的标题改为"
                 "“%(label)s”，或由省级管理员在管理后台的“表头同义词”中添加该列的标题。") % {
            "row": searched[best][0], "known": "、".join(known), "label": label}
    return _("没有找到表头行：前 %(rows)d 行中没有包含“项目名称”等列名的行。") % {"rows": HEADER_SEARCH_ROWS}


def _is_number_or_date(value):
    if isinstance(value, (int, float, Decimal, datetime.date)):
        return True
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    return bool(re.fullmatch(r"[-+]?\d+(\.\d+)?", text))


def two_row_headings(upper, lower, header_map, name_position):
    """A header of two rows read as one (headings, keys, year), or None when `lower` is not a second header
    row. Merged cells read as empty but for their first cell: a heading spanning both rows (项目名称) has
    nothing below it; a group heading spanning columns (2023年, or 2023年10月) has its sub-headings below
    it (计划投资 | 1-10月完成). `lower` is a header row when the name column is empty in it, none of its cells
    is a number or a date, it is no section row, and one of its cells stands under a group heading's span
    (a column whose upper cell is empty, right of a group heading): what a first data row never is.
    A sub-heading is looked up with its group's heading (a year in it is dropped), else alone; a year group
    heading is returned as the columns' year. A row of units alone (万元, （亿元）) under the headings is a
    second header row too: each heading takes its unit."""
    width = max(len(upper), len(lower))
    upper = [clean_heading(cell) for cell in upper] + [""] * (width - len(upper))
    lower_cells = list(lower) + [None] * (width - len(lower))
    lower = [clean_heading(cell) for cell in lower_cells]
    filled = [position for position, text in enumerate(lower) if text]
    if not filled or lower[name_position] or any(_is_number_or_date(lower_cells[p]) for p in filled):
        return None
    if len(filled) == 1 and SECTION_RE.search(lower[filled[0]].replace(" ", "")):
        return None
    if all(UNIT_ROW_RE.match(unicodedata.normalize("NFKC", lower[p])) for p in filled):
        # A row of units under the headings (总投资 over 万元): each heading with its unit.
        headings = [f"{above}（{below.strip('()（）')}）" if above and below else above for above, below in zip(upper, lower)]
        return headings, [header_map.key(heading) if heading else None for heading in headings], None
    group, spanned, headings, keys, year = "", False, [], [], None
    for position in range(width):
        above, below = upper[position], lower[position]
        if above:
            group = above if below else ""  # a heading with nothing below spans both rows
        elif below and group:
            spanned = True
        if below:
            key = (header_map.key(group + below) if group else None) or header_map.key(below)
            heading = group + below if group and group != below else below
            match = YEAR_IN_TITLE_RE.match(group) if group else None
            if match and key is not None:
                year = int(match[1])
        else:
            key, heading = header_map.key(above) if above else None, above
        headings.append(heading)
        keys.append(key)
    return (headings, keys, year) if spanned else None


UNIT_ROW_RE = re.compile(r"^\(?(亿元|万元)\)?$")


def clean_heading(value):
    return " ".join(str(value).split()) if value is not None else ""


def year_from_titles(rows):
    for _number, cells in rows:
        for cell in cells:
            match = YEAR_IN_TITLE_RE.search(str(cell or ""))
            if match:
                return int(match[1])
    return None


SECTION_RE = re.compile(r"^([一二三四五六七八九十百]+|\d+)[、.．]|[（(]\s*\d+\s*[项个][)）]$")
# Notes under the table (issue 25): 注：…, 注1：…, 说明：…, 备注：…, 填表说明：…, 数据来源：….
FOOTNOTE_RE = re.compile(r"^(注|附注|说明|备注|填表说明|填报说明|资料来源|数据来源)\s*\d*\s*[:：]")


def is_passed_over(values):
    """Blank rows, section headings (一、重大产业项目（25项）), subtotal rows (合计 / 小计 / 总计) and notes under
    the table (注：…, 说明：…: its first filled cell begins so, and no other cell but the name's is filled)."""
    filled = {key: value for key, value in values.items() if value is not None}
    if not filled:
        return True
    seq, name = (filled.get("seq") or "").replace(" ", ""), (filled.get("name") or "").replace(" ", "")
    if any(word in seq or word in name for word in SUBTOTAL_WORDS):
        return True
    first = unicodedata.normalize("NFKC", next(iter(filled.values()))).replace(" ", "")
    if FOOTNOTE_RE.match(first) and set(filled) - {"name"} <= {next(iter(filled))}:
        return True
    if len(filled) == 1:
        (text,) = filled.values()
        return bool(SECTION_RE.search(text.replace(" ", "")))
    return False


# --- Columns not recognised: which may be passed over, which would lose data (issue 25) --------------------

# A heading naming money, or a unit that is not money (占地面积（亩）, 带动就业（人）: numbers, not amounts).
MONEY_HEADING_RE = re.compile(r"元|投资|资金|金额|额|出资|引资|资本|造价|产值|营收|税收")
OTHER_UNIT_RE = re.compile(r"亩|平方|㎡|m2|米|公里|千米|吨|人|个|台|套|户|%|％|瓦|kw|mw|kva|床|辆|件|家|座|条|年|月|日|天|率|比例|数量")
# A figure of the months reported (本月完成, 1-10月完成, 累计完成投资, 资金到位): the progress import's.
PROGRESS_FIGURE_RE = re.compile(r"(月|累计|以来).*(完成|到位)|(完成|到位).*(月|累计)")
# Organisations as lists name owners and investors: enterprises, institutes, banks, funds (not government
# departments: a 局 or 委 in an unknown column is a responsibility, passed over with a warning).
ORGANISATION_RE = re.compile(r"(公司|集团|企业|厂|合作社|研究院|研究所|大学|学院|医院|银行|基金|商会|协会|事务所|合伙\)?|控股)$")
APPROXIMATE_PREFIX_RE = re.compile(r"^(约|大约|约计|预计)|左右$")


@dataclass
class UnknownColumn:
    """An unrecognised column and what its cells look like: 'amounts', 'organisations', 'progress' or None."""

    position: int
    heading: str
    kind: str = None
    example: str = ""


def judge_unrecognized(columns, rows, money_positions):
    """What each unrecognised column holds, from its cells in the data rows (`rows`: the kept rows' cells).

    The rule (issue 25), so that a column holding what the list is about is never dropped while the import
    says success:
    - amounts: most filled cells are numbers, and the heading names money (元, 投资, 金额, 额, 出资 …), or
      it names no other unit (亩, 人, 吨, % …) and stands next to a money column → refused;
    - organisations: most filled cells end as enterprises do (公司, 集团, 合作社, 研究院 …), an owner or an
      investor → refused;
    - progress figures (本月完成, 1-10月完成, 累计完成投资): the monthly progress import's → passed, said;
    - anything else (备注2 with free text, 占地面积（亩）, 拟完成月份) → passed over with a warning.
    """
    judged = []
    for position, heading in columns.unrecognized:
        cells = [cells[position] for cells in rows if position < len(cells) and cells[position] is not None]
        values = [value for value in (clean_heading(cell) for cell in cells) if not is_empty_meaning(value)]
        column = UnknownColumn(position, heading)
        judged.append(column)
        if not values:
            continue
        text = heading_text(heading) or unicodedata.normalize("NFKC", heading)
        numbers = [value for value in values if _is_number_or_date(APPROXIMATE_PREFIX_RE.sub("", value))]
        organisations = [value for value in values if ORGANISATION_RE.search(unicodedata.normalize("NFKC", value))]
        if PROGRESS_FIGURE_RE.search(text) and len(numbers) * 2 >= len(values):
            column.kind, column.example = "progress", numbers[0]
        elif len(numbers) * 2 > len(values):
            heading_all = unicodedata.normalize("NFKC", heading).lower()
            names_money = bool(MONEY_HEADING_RE.search(heading_all))
            other_unit = bool(OTHER_UNIT_RE.search(heading_all))
            beside_money = bool({position - 1, position + 1} & set(money_positions))
            if names_money or (not other_unit and beside_money):
                column.kind, column.example = "amounts", numbers[0]
        elif len(organisations) * 2 > len(values):
            column.kind, column.example = "organisations", organisations[0]
    return judged


def column_letter(position):
    """A column's letter as the sheet shows it (0 → A, 26 → AA)."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def title_texts(rows):
    """The texts of the rows above the header (titles, notes), each cell's, without spaces."""
    return [unicodedata.normalize("NFKC", str(cell)).replace(" ", "") for _number, cells in rows for cell in cells
            if cell is not None and str(cell).strip()]


# A list's title naming its programme when the list has no 项目类别 column (issue 25): the catalogue's names
# (省重点, 市重点, 县域特色产业集群, 招商引资, 技术改造) and these other ways of writing them.
PROGRAMME_TITLE_WORDS = {"技改": "技术改造", "省级重点": "省重点", "市级重点": "市重点", "县域特色产业": "县域特色产业集群",
                         "招商": "招商引资"}


def city_without_column(regions, user, titles):
    """(city, note) for a list without a 所属市 column (a city's own list, issue 25): the importing user's city
    when they are a city's (or a county's: its city), else the one the title names (廊坊市2023年重点项目清单);
    the note says which. The user's city and another named by the title refuse the file (which one is meant
    is not guessed); so does a list where neither names a city, saying so."""
    region = getattr(user, "region", None)
    mine = None
    if region is not None:
        mine = region if region.is_city_level else next(
            (found for found in regions.by_code.values() if found.pk == region.reporting_city_id), None)
    titled = regions.cities_in(titles)
    title = next((text for text in titles if titled and any(form in text for form in titled[0][1])), "")
    if mine is not None:
        if titled and all(found.pk != mine.pk for found, _forms in titled):
            raise ImportFileError(
                _("清单中没有“所属市”列，标题“%(title)s”说的是%(titled)s，而您的地区是%(mine)s。请添加“所属市”列。")
                % {"title": title, "titled": "、".join(found.name for found, _forms in titled), "mine": mine.name})
        return mine, _("清单中没有“所属市”列：所属市取导入用户的地区“%(city)s”。") % {"city": mine.name}
    if len(titled) == 1:
        found = titled[0][0]
        return found, _("清单中没有“所属市”列：所属市按标题“%(title)s”取为“%(city)s”。") % {"title": title, "city": found.name}
    if len(titled) > 1:
        raise ImportFileError(_("清单中没有“所属市”列，标题中有多个市（%(cities)s）。请添加“所属市”列。")
                              % {"cities": "、".join(found.name for found, _forms in titled)})
    raise ImportFileError(_("缺少必需的列：所属市。清单中没有“所属市”列，标题中也没有市名，导入用户也不属于某个市："
                            "请添加“所属市”列（如“廊坊市”），或在标题中写明市名。"))


def programmes_from_title(catalogues, titles):
    """(programme pks, note) for a list without a 项目类别 column whose title names a programme (招商引资签约
    项目, 技术改造项目清单, 省重点项目): its rows are in that programme, added to those a project has.
    (None, None) when the title names none (集中开工 is an occasion, not a programme: nothing is taken)."""
    names = {programme.name: programme for programme in catalogues.programmes.values()}
    words = {**{name: name for name in names}, **PROGRAMME_TITLE_WORDS}
    found = {}
    for text in titles:
        for word, name in sorted(words.items(), key=lambda item: -len(item[0])):
            if word in text and name in names:
                found.setdefault(name, text)
    if not found:
        return None, None
    note = _("清单中没有“项目类别”列：按标题“%(title)s”，各行的项目类别取为“%(names)s”（已有的项目类别保留）。") % {
        "title": next(iter(found.values())), "names": "、".join(found)}
    return {names[name].pk for name in found}, note


def refuse_lost_columns(judged):
    """An unrecognised column holding amounts or organisations (judge_unrecognized) would be lost while the
    import says success (issue 25): ImportFileError naming each such column (heading and sheet column) and the
    synonym to add in the admin. Returns the notes for the others: progress figures are the monthly import's."""
    lost, notes = [], []
    for column in judged:
        where = {"heading": column.heading, "column": column_letter(column.position), "example": column.example}
        if column.kind == "amounts":
            lost.append(_("“%(heading)s”（%(column)s 列）未能识别，但其中是金额（如“%(example)s”）") % where)
        elif column.kind == "organisations":
            lost.append(_("“%(heading)s”（%(column)s 列）未能识别，但其中是单位名称（如“%(example)s”）") % where)
        elif column.kind == "progress":
            notes.append(_("“%(heading)s”（%(column)s 列）是月度完成数，清单导入不读取，请用月度调度导入。") % where)
    if lost:
        headings = "、".join(f"“{column.heading}”" for column in judged if column.kind in ("amounts", "organisations"))
        raise ImportFileError(
            _("%(columns)s。为免这些内容丢失，本次未导入任何内容。请将这些列的标题改为模板的列名，或由省级管理员在"
              "管理后台的“表头同义词”（HeaderSynonym）中添加%(headings)s，指明它对应哪一列。")
            % {"columns": "；".join(lost), "headings": headings})
    return notes
