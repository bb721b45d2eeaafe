"""The provincial list template (SPEC §5): its columns and their headings, read by the import and written
by the export in the same shape; and the one rule for text a spreadsheet would run as a formula."""



# The provincial template's columns: (canonical header, English alias). What each holds is the list
# resource's (importing.project_list.ProjectListResource: its widgets read a column, its dehydrate methods
# write it), so that an export imports back unchanged.
COLUMNS = [
    ("项目代码", "code"),
    ("项目名称", "name"),
    ("项目类别", "programmes"),
    ("五个一批", "batch"),
    ("建设阶段", "stage"),
    ("所属市", "city"),
    ("所属县（市、区）", "county"),
    ("所属产业", "industry"),
    ("八项行动", "actions"),
    ("项目单位", "owner"),
    ("建设规模及主要内容", "scope"),
    ("建设起止年限", "period"),
    ("计划开工", "planned_start"),
    ("计划竣工", "planned_end"),
    ("总投资（万元）", "total_investment"),
    ("年度计划投资（万元）", "annual_plan"),
    ("截至上年底累计完成投资（万元）", "completed_before_year"),
    ("责任单位", "responsible_unit"),
    ("联系人", "contact"),
    ("联系电话", "phone"),
    ("备注", "remarks"),
]
# The investment-promotion block (招商引资项目, issue 25): optional columns after the template's, blank for
# other projects; 实际开工 is the lifecycle's 开工 (the project's actual start).
INVESTMENT_COLUMNS = [
    ("投资方", "investor"),
    ("投资方所在地", "investor_region"),
    ("投资方来源", "investor_source"),
    ("签约时间", "signed_on"),
    ("签约活动", "signing_event"),
    ("协议投资额（万元）", "contract_amount"),
    ("注册时间", "registered_on"),
    ("实际开工", "actual_start"),
    ("投产时间", "production_on"),
    ("终止时间", "terminated_on"),
]
COLUMNS = COLUMNS + INVESTMENT_COLUMNS
# The headings the import knows by default: the template's, and 序号 (the row number lists carry first).
HEADERS = {"seq": ("序号", "no")} | {alias: (header, alias) for header, alias in COLUMNS}

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value):
    """A text cell a spreadsheet would evaluate (=, +, -, @, a tab or CR first) gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
