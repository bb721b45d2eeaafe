"""Names in the reader's language (local_name), and the English names of Hebei's divisions, generated from
their Chinese names (pinyin for the proper name, English for the kind of division), so that nobody types
202 names by hand and none is missed.

正定县 → Zhengding County · 石家庄市 → Shijiazhuang City · 雄安新区 → Xiongan New Area ·
青龙满族自治县 → Qinglong Manchu Autonomous County · 河北唐山芦台经济开发区 → Hebei Tangshan Lutai Economic
Development Zone.
"""

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
