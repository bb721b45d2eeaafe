"""What the bulletin says, section by section, from reads.Figures: the 红头 (title, number, issuing unit and
date), the period, 一、总体情况 (the overall figures and the areas), 二、排名, 三、红灯项目, 四、逾期未报,
五、督办, 六、招商引资, and where the figures came from.

The number (期号) is the month's number in its year: the bulletin of November 2026 is 2026年第11期, whichever
generation of it this is (a regenerated bulletin keeps its number; the list shows when each was made)."""

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from projects.bulletin import document as doc
from projects.bulletin.document import count, pct, yi
from projects.domain.figures import figure_text
from projects.shared.trends import month_end


def bulletin_title(region):
    return _("%(region)s重点项目调度通报") % {"region": region}


def bulletin_number(month):
    """期号: the month's number in the year (see the module's docstring)."""
    return _("%(year)d年第%(number)d期") % {"year": month.year, "number": month.month}


def issuer(region):
    """The issuing office under the title: settings.BULLETIN_ISSUERS names it per division code (an office
    may issue under its own name); otherwise the scope's development and reform commission, which runs the
    key-project work in Hebei's province and cities."""
    named = settings.BULLETIN_ISSUERS.get(region.code)
    return named or _("%(region)s发展和改革委员会") % {"region": region}


def file_name(region, month):
    """The name a bulletin is downloaded and attached under."""
    return _("%(title)s（%(number)s）") % {"title": bulletin_title(region), "number": bulletin_number(month)} + ".docx"


def change_text(change):
    """A rank's change since last month as the ranking page shows it: ↑2, ↓1, — (none, or new)."""
    if not change:
        return "—"
    return f"↑{change}" if change > 0 else f"↓{-change}"


def bulletin_document(figures, *, issued_on):
    """The .docx (bytes) of a bulletin."""
    document = doc.new_document()
    region, month = figures.region, figures.month
    doc.header_block(document, title=bulletin_title(region), number=bulletin_number(month), issuer=issuer(region),
                     issued_on=issued_on)
    doc.paragraph(document, _("调度期：%(month)s（%(start)s至%(end)s），数据截至%(on)s。") % {
        "month": doc.month_text(month), "start": doc.date_text(month), "end": doc.date_text(month_end(month)),
        "on": doc.date_text(figures.on)})
    _overall(document, figures)
    _ranking(document, figures)
    _red_list(document, figures)
    _overdue(document, figures)
    _supervision(document, figures)
    _investment(document, figures)
    doc.paragraph(document, _("数据来源：河北省重点项目调度平台；数据版本 %(version)s，计入月报 %(reports)s 份。") % {
        "version": figures.data_version, "reports": count(figures.reports_counted)}, size=doc.SMALL_SIZE)
    document.core_properties.title = bulletin_title(region)
    document.core_properties.subject = bulletin_number(month)
    document.core_properties.author = document.core_properties.last_modified_by = issuer(region)
    document.core_properties.created = document.core_properties.modified = timezone.now()
    document.core_properties.revision = 1
    return doc.to_bytes(document)


def _overall(document, figures):
    totals = figures.totals
    doc.heading(document, _("一、总体情况"))
    lag = None if totals["lag"] is None else f"{totals['lag']:.1f}"
    text = _("%(region)s纳入调度重点项目 %(count)s 个，总投资 %(total)s 亿元，年度计划投资 %(plan)s 亿元；本年累计完成投资 "
             "%(completed)s 亿元，投资完成率 %(rate)s，时序进度 %(progress)s。") % {
        "region": figures.region, "count": count(totals["count"]), "total": yi(totals["total_investment"]),
        "plan": yi(totals["plan"]), "completed": yi(totals["completed"]), "rate": pct(totals["rate"]),
        "progress": pct(figures.time_progress)}
    if lag is not None and totals["lag"] > 0:
        text += _("完成率落后时序进度 %(lag)s 个百分点。") % {"lag": lag}
    elif lag is not None:
        text += _("完成率快于时序进度。")
    doc.paragraph(document, text)
    cycle = figures.cycle
    doc.paragraph(document, _("红灯项目 %(red)s 个，黄灯 %(yellow)s 个，绿灯 %(green)s 个。%(month)s月报已报送 %(submitted)s 份、"
                              "审核通过 %(approved)s 份、退回 %(returned)s 份，未报 %(missing)s 个项目。") % {
        "month": doc.month_text(figures.month), "red": count(totals["red"]), "yellow": count(totals["yellow"]), "green": count(totals["green"]),
        "submitted": count(cycle["submitted"]), "approved": count(cycle["approved"]),
        "returned": count(cycle["returned"]), "missing": count(cycle["missing"])})
    rows = [
        (_("项目数（个）"), count(totals["count"])),
        (_("总投资（亿元）"), yi(totals["total_investment"])),
        (_("年度计划投资（亿元）"), yi(totals["plan"])),
        (_("本年完成投资（亿元）"), yi(totals["completed"])),
        (_("投资完成率"), pct(totals["rate"])),
        (_("时序进度"), pct(figures.time_progress)),
        (_("红灯 / 黄灯 / 绿灯（个）"), " / ".join(count(totals[key]) for key in ("red", "yellow", "green"))),
        (_("计入月报（份）"), count(figures.reports_counted)),
    ]
    doc.table(document, [_("指标"), _("数值")], rows, numeric=(1,), widths=doc.widths([90], total=doc.TEXT_WIDTH_MM, count=2))
    if figures.areas:
        doc.heading(document, figures.area_title, level=2)
        doc.table(
            document,
            [_("地区"), _("项目数"), _("年度计划（亿元）"), _("本年完成（亿元）"), _("完成率"), _("红灯"), _("黄灯"), _("绿灯")],
            [(row["label"], count(row["count"]), yi(row["plan"]), yi(row["completed"]), pct(row["rate"]),
              count(row["red"]), count(row["yellow"]), count(row["green"])) for row in figures.areas],
            numeric=range(1, 8), widths=doc.widths([26], total=doc.TEXT_WIDTH_MM, count=8),
        )


def _ranking(document, figures):
    ranking = figures.ranking
    title = _("二、各市排名") if figures.ranking_level == "city" else _("二、各县（市、区）排名")
    if ranking is None:
        doc.heading(document, title)
        doc.paragraph(document, _("省里未向各市开放排名，本期不列排名。"))
        return
    weighted = [(indicator, label, weight) for indicator, label, weight in ranking.weights if weight]
    doc.landscape(document)
    doc.heading(document, title)
    doc.paragraph(document, _("综合得分按各指标权重折算：%(weights)s。无项目的单位列出、不参与排名。") % {
        "weights": _("、").join(f"{label} {weight}" for _indicator, label, weight in weighted)}, size=doc.TABLE_SIZE)
    headings = [_("排名"), _("单位"), _("综合得分"), _("较上月")] + [label for _indicator, label, _weight in weighted]
    rows = []
    for row in ranking.rows:
        cells = [row.cells.get(indicator) for indicator, _label, _weight in weighted]
        rows.append([
            row.rank if row.ranked and row.rank is not None else "—",
            str(row.region),
            "—" if row.score is None else f"{row.score:.1f}",
            change_text(row.rank_change) if row.ranked else _("不排名"),
            *[(cell.text if cell is not None else "—") for cell in cells],
        ])
    doc.table(document, headings, rows, numeric=(0, *range(2, len(headings))), size=doc.SMALL_SIZE,
              widths=doc.widths([12, 26, 16, 15], total=doc.LANDSCAPE_TEXT_WIDTH_MM, count=len(headings)))
    doc.portrait(document)


def _red_list(document, figures):
    doc.heading(document, _("三、红灯项目"))
    if not figures.red:
        doc.paragraph(document, _("本期无红灯项目。"))
        return
    if figures.red_count > len(figures.red):
        doc.paragraph(document, _("共 %(total)s 个，列出前 %(shown)s 个，其余见平台项目清单（红灯）。") % {
            "total": count(figures.red_count), "shown": count(len(figures.red))})
    else:
        doc.paragraph(document, _("共 %(total)s 个：") % {"total": count(figures.red_count)})
    rows = []
    for index, row in enumerate(figures.red, 1):
        project = row["project"]
        place = " ".join(str(part) for part in (project.city, project.county) if part)
        rows.append((index, project.name, place, figure_text(project.total_investment), row["reason"]))
    doc.table(document, [_("序号"), _("项目名称"), _("地区"), _("总投资（万元）"), _("红灯原因")], rows, numeric=(0, 3),
              widths=doc.widths([11, 55, 30, 22], total=doc.TEXT_WIDTH_MM, count=5))


def _overdue(document, figures):
    doc.heading(document, _("四、逾期未报"))
    units = figures.overdue_units
    if not units:
        doc.paragraph(document, _("%(month)s月报均已报送。") % {"month": doc.month_text(figures.month)})
        return
    doc.paragraph(document, _("截至通报生成时，%(month)s应报未报（含被退回）的项目 %(missing)s 个，涉及 %(units)s 个单位：") % {
        "month": doc.month_text(figures.month), "missing": count(sum(row["missing"] for row in units)),
        "units": count(len(units))})
    if figures.is_province:
        doc.table(document, [_("市"), _("填报单位"), _("应报项目"), _("未报项目")],
                  [(row["city"], row["unit"], count(row["owing"]), count(row["missing"])) for row in units], numeric=(2, 3),
                  widths=doc.widths([36, 60], total=doc.TEXT_WIDTH_MM, count=4))
    else:
        doc.table(document, [_("填报单位"), _("应报项目"), _("未报项目")],
                  [(row["unit"], count(row["owing"]), count(row["missing"])) for row in units], numeric=(1, 2),
                  widths=doc.widths([76], total=doc.TEXT_WIDTH_MM, count=3))


def _supervision(document, figures):
    doc.heading(document, _("五、督办落实情况"))
    items = figures.supervision
    doc.paragraph(document, _("截至通报生成时，办理中的督办事项 %(open)s 项，其中逾期 %(overdue)s 项、待销号 %(signoff)s 项、延期申请待审批 %(extension)s 项。") % {
        key: count(items.get(key) or 0) for key in ("open", "overdue", "signoff", "extension")})
    doc.table(document, [_("办理中"), _("逾期"), _("待销号"), _("延期申请待审批")],
              [[count(items.get(key) or 0) for key in ("open", "overdue", "signoff", "extension")]], numeric=range(4))


def _investment(document, figures):
    doc.heading(document, _("六、招商引资"))
    card = figures.investment
    total = card["total"]
    if not total["signed"] and not card["overdue"]:
        doc.paragraph(document, _("%(year)d年无签约招商项目。") % {"year": figures.month.year})
        return
    doc.paragraph(document, _("%(year)d年签约招商项目 %(signed)s 个，协议投资额 %(contract)s 亿元；已注册 %(registered)s 个（履约率 %(registered_rate)s），"
                              "已开工 %(started)s 个（开工率 %(started_rate)s），资金到位率 %(funds_rate)s；签约逾期未注册 %(overdue)s 个。") % {
        "year": figures.month.year, "signed": count(total["signed"]), "contract": yi(total["contract"]),
        "registered": count(total["registered"]), "registered_rate": pct(total["registered_rate"]),
        "started": count(total["started"]), "started_rate": pct(total["started_rate"]),
        "funds_rate": pct(total["funds_rate"]), "overdue": count(card["overdue"])})
    rows = [(row["label"] or _("未填"), count(row["signed"]), yi(row["contract"]), pct(row["registered_rate"]),
             pct(row["started_rate"]), pct(row["funds_rate"])) for row in card["sources"]]
    rows.append((_("合计"), count(total["signed"]), yi(total["contract"]), pct(total["registered_rate"]),
                 pct(total["started_rate"]), pct(total["funds_rate"])))
    doc.table(document, [_("投资方来源"), _("签约项目"), _("协议投资额（亿元）"), _("履约率"), _("开工率"), _("资金到位率")],
              rows, numeric=range(1, 6))
