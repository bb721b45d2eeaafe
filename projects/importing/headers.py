"""Finding the header row under title and note rows, and which column is which; rows to pass over."""

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from projects.domain.template import HEADERS
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
    "name": ["名称", "项目"],
    "programmes": ["项目类型", "类别", "项目属性"],
    "batch": ["五个一批类别", "五个一批分类", "项目分类"],
    "stage": ["项目阶段", "建设性质", "阶段", "项目进展阶段"],
    "city": ["市", "设区市", "所属设区市", "地市", "所在市", "所属地市", "所在地市"],
    "county": ["县", "所属县", "所在县", "县区", "县市区", "所属县区", "所属县市区", "所在县区", "县(市、区)", "县(市区)"],
    "industry": ["产业", "所属行业", "行业", "产业类别", "产业领域", "所属领域"],
    "actions": ["专项行动", "所属行动", "行动"],
    "owner": ["建设单位", "项目业主", "业主单位", "项目法人", "实施单位", "投资主体", "签约企业", "企业名称", "项目建设单位"],
    "scope": ["建设内容", "主要建设内容", "建设规模", "建设内容及规模", "建设规模及内容", "项目概况", "主要内容"],
    "period": ["建设年限", "起止年限", "建设期限", "建设周期", "建设起止年份"],
    "planned_start": ["计划开工时间", "开工时间", "计划开工日期", "开工日期", "预计开工时间"],
    "planned_end": ["计划竣工时间", "竣工时间", "计划完工时间", "完工时间", "计划竣工日期", "预计竣工时间", "计划投产时间"],
    "total_investment": ["计划总投资", "概算投资", "项目总投资", "估算总投资", "投资总额", "总投资额", "概算总投资"],
    "annual_plan": ["当年计划投资", "今年计划投资", "年预计投资", "年度投资计划", "本年计划投资", "年计划投资",
                    "年度计划完成投资", "计划投资", "年度计划"],
    "completed_before_year": ["截止上年底累计完成投资", "上年底累计完成投资", "至上年底累计完成投资", "以前年度完成投资",
                              "截至上年底累计完成"],
    "responsible_unit": ["牵头单位", "主管部门", "责任部门", "包联单位"],
    "contact": ["项目联系人"],
    "phone": ["电话", "联系方式", "手机"],
    "remarks": ["说明"],
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
    """The header row found: where each known column is and its unit, and what was not recognised."""

    index: int  # of the header row among the rows searched
    positions: dict  # key -> (column index, unit factor)
    unrecognized: list  # (column index, heading) of the columns that will not be imported

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


def find_header(rows, header_map):
    """The header row among the first rows (below titles and notes), its columns and their units: a
    heading's own unit, else the unit a note row above names (单位：亿元), else 万元."""
    for index, (_number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [header_map.key(cell) for cell in cells]
        if "name" not in keys or len({key for key in keys if key}) < 3:
            continue
        default_unit = Decimal(1)
        for _above, above_cells in rows[:index]:
            for cell in above_cells:
                match = UNIT_IN_NOTE_RE.search(unicodedata.normalize("NFKC", str(cell or "")))
                if match:
                    default_unit = UNIT_FACTORS[match[1]]
        positions, unrecognized = {}, []
        for position, (cell, key) in enumerate(zip(cells, keys)):
            heading = " ".join(str(cell or "").split())
            if key is None or key in positions:
                if heading:
                    unrecognized.append((position, heading))
                continue
            unit = heading_unit(cell)
            positions[key] = (position, unit if unit is not None else default_unit)
        return Columns(index, positions, unrecognized)
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
