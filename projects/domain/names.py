"""Names in the reader's language (local_name), and the English names of Hebei's divisions, generated from
their Chinese names (pinyin for the proper name, English for the kind of division), so that nobody types
202 names by hand and none is missed.

正定县 → Zhengding County · 石家庄市 → Shijiazhuang City · 雄安新区 → Xiongan New Area ·
青龙满族自治县 → Qinglong Manchu Autonomous County · 河北唐山芦台经济开发区 → Hebei Tangshan Lutai Economic
Development Zone.
"""

import re

from django.utils import translation
from pypinyin import lazy_pinyin

# The kind of division, by its ending (longest first).
KINDS = (
    ("高新技术产业开发区", "High-tech Industrial Development Zone"),
    ("经济技术开发区", "Economic and Technological Development Zone"),
    ("经济开发区", "Economic Development Zone"),
    ("循环化工园区", "Circular Chemical Industry Park"),
    ("管理区", "Administrative Area"),
    ("新区", "New Area"),
    ("矿区", "Mining District"),
    ("自治县", "Autonomous County"),
    ("县", "County"),
    ("区", "District"),
    ("市", "City"),
    ("省", "Province"),
)
PEOPLES = (("满族", "Manchu"), ("回族", "Hui"), ("蒙古族", "Mongol"))


def pinyin_word(text):
    """A place name as one capitalised pinyin word (正定 → Zhengding)."""
    return "".join(lazy_pinyin(text)).capitalize()


def english_name(name, city_name=""):
    """The English name of a division called `name` in the city `city_name`; a zone's name may begin
    with 河北 and with its city's name, which become words of their own (Hebei Tangshan Lutai ...)."""
    city_short = city_name[:-1] if city_name.endswith("市") else city_name
    words, rest = [], name
    for prefixes, word in ((("河北",), "Hebei"), ((city_name, city_short), pinyin_word(city_short) if city_short else "")):
        for prefix in prefixes:
            if prefix and rest.startswith(prefix) and len(rest) > len(prefix):
                words.append(word)
                rest = rest[len(prefix):]
                break
    kind = ""
    for ending, english in KINDS:
        if rest.endswith(ending) and (len(rest) > len(ending) or words):
            rest, kind = rest[: -len(ending)], english
            break
    peoples = []
    while kind == "Autonomous County":
        people = next(((chinese, english) for chinese, english in PEOPLES if rest.endswith(chinese)), None)
        if people is None:
            break
        rest = rest[: -len(people[0])]
        peoples.insert(0, people[1])
    if rest:
        words.append(pinyin_word(rest))
    return " ".join(words + peoples + ([kind] if kind else []))


def local_name(obj):
    """A catalogue entry's name in the reader's language: its English name in English mode, when it has
    one (regions, programmes, batches, industries, action plans and actions have), else its name."""
    english = getattr(obj, "name_en", "")
    return english if english and (translation.get_language() or "").startswith("en") else obj.name


# --- A project's name as it is stored and matched (issue 25) ---------------------------------------------

# Characters next to which a space is not a word break in Chinese text: CJK ideographs and punctuation,
# full-width forms (（）、，) and the ideographic space.
_CJK = re.compile(r"[\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def normalize_name(text):
    """A project name as stored and matched: every run of whitespace (a line break typed in a cell, two
    spaces, a full-width space) removed where it stands next to a Chinese character or punctuation — where
    Chinese has no word breaks — and made one space between Latin words or numbers (年产10万吨 PVC Film).
    Names are compared as stored, so the list import and the progress import store and match through this."""
    words = str(text).split()
    if not words:
        return ""
    name = words[0]
    for word in words[1:]:
        joined = _CJK.match(name[-1]) or _CJK.match(word[0])
        name += word if joined else f" {word}"
    return name
