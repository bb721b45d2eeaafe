"""The words demo data is made of: products by industry, owners, progress phrases, problems, return
reasons, and when each kind of node falls relative to the start."""

from projects.domain.choices import ProblemCategory

PRODUCTS = {
    "钢铁": ["高端精品钢板", "特种合金钢", "氢冶金示范", "短流程电炉炼钢"],
    "装备制造": ["智能装备产业园", "新能源汽车零部件", "高端紧固件", "工业机器人"],
    "石化": ["绿色化工新材料", "高端精细化工", "炼化一体化"],
    "食品": ["健康食品产业园", "宠物食品", "中央厨房", "乳制品深加工"],
    "新一代信息技术": ["数据中心", "智能传感器", "工业互联网平台", "集成电路封测"],
    "生物医药": ["创新药研发生产基地", "医疗器械", "原料药绿色化改造"],
    "新能源": ["光伏组件", "风电装备", "氢能产业园", "储能电池"],
    "新材料": ["优质浮法玻璃", "碳纤维复合材料", "高性能膜材料"],
    "应急": ["应急装备产业园", "消防救援装备"],
    "被动式超低能耗建筑": ["被动式超低能耗建筑部品", "装配式建筑构件"],
    "康复辅助器具": ["康复辅助器具产业园", "智能助行器"],
    "区块链": ["区块链应用创新中心"],
    "太赫兹": ["太赫兹器件研发"],
    "类脑智能": ["类脑计算芯片"],
    "量子信息": ["量子通信网络"],
}
GENERIC_PRODUCTS = ["现代物流园", "文旅综合体", "城市更新", "污水处理", "学校建设", "医院综合楼", "供热管网改造"]
OWNER_SUFFIXES = ["科技有限公司", "集团有限公司", "实业有限公司", "新材料股份有限公司", "投资发展有限公司"]
OWNER_WORDS = ["华北", "冀中", "燕赵", "太行", "渤海", "长城", "新元", "恒信", "瑞达", "鼎盛", "宏远", "中创"]
# 形象进度: the steps of a build in their order, each up to the share of the construction period it ends at;
# a report's text is its step and how far into the step the works are, so it never goes backwards.
PROGRESS_STEPS = [(0.08, "场地平整"), (0.3, "基础施工"), (0.55, "主体施工"), (0.68, "厂房封顶"), (0.85, "设备安装"),
                  (1.0, "试生产")]
PHASES = ["二期", "三期", "扩建", "提升改造"]
RETURN_REASONS = ["本月完成投资与形象进度不符，请核实", "金额疑似多录一位，请核对", "请补充形象进度"]
PROBLEMS = [
    (ProblemCategory.LAND, "项目用地指标尚未落实，需协调自然资源部门"),
    (ProblemCategory.FUNDS, "银行贷款未到位，资金缺口较大"),
    (ProblemCategory.APPROVAL, "施工许可手续办理滞后"),
    (ProblemCategory.ENVIRONMENT, "环评批复尚未取得"),
    (ProblemCategory.ENERGY, "能耗指标不足，需省级统筹"),
    (ProblemCategory.INFRASTRUCTURE, "外部供电线路未接入"),
]
COMPLETION_PROGRESS = "竣工验收，投产运行"
HISTORY_REASON = "项目入库"  # the demo projects' first history record: entered into the platform
SHORTEST_BUILD_DAYS = 240  # a project past its planned end (or planned too short) still steps through the phases


def image_progress(month, started, ends):
    """The 形象进度 of a project's report for `month`: the step its works reached, started on `started` and
    (planned or actually) ending on `ends`, and how far into that step, e.g. "主体施工，完成约40%"."""
    span = max((ends - started).days, SHORTEST_BUILD_DAYS)
    share = min(max((month - started).days + 30, 0) / span, 0.999)  # the report tells the month's end
    low = 0.0
    for high, step in PROGRESS_STEPS:
        if share < high:
            done = int((share - low) / (high - low) * 10) * 10
            return f"{step}，完成约{max(done, 10)}%"
        low = high
    return PROGRESS_STEPS[-1][1]


def progress_step(text):
    """The index of the step a 形象进度 text names (PROGRESS_STEPS; the completion last), None for another."""
    if text == COMPLETION_PROGRESS:
        return len(PROGRESS_STEPS)
    for index, (_high, step) in enumerate(PROGRESS_STEPS):
        if text.startswith(step):
            return index
    return None
# Each node's planned date, in days from the planned start (the first five) or the planned end (the rest).
NODE_OFFSETS = {"立项/备案": -150, "用地": -100, "规划许可": -70, "环评": -60, "施工许可": -20, "开工": 0,
                "主体完工": -120, "竣工验收": 0, "投产": 30}
FROM_START = ("立项/备案", "用地", "规划许可", "环评", "施工许可", "开工")
# The 招商引资 pipeline (issue 25): investors by where they come from (their region, then name stems), and
# the signing events of the province's calendar.
INVESTOR_PLACES = {
    "beijing_tianjin": ["北京市海淀区", "北京市朝阳区", "北京经济技术开发区", "天津市滨海新区", "天津市西青区"],
    "in_province": ["河北省石家庄市", "河北省唐山市", "河北省保定市", "河北省邯郸市"],
    "other_province": ["广东省深圳市", "上海市浦东新区", "江苏省苏州市", "浙江省杭州市", "山东省青岛市"],
    "abroad": ["香港", "新加坡", "德国慕尼黑", "日本大阪", "韩国首尔"],
}
INVESTOR_STEMS = ["中关村", "京能", "津投", "华润", "比亚迪", "宁德", "远景", "隆基", "正大", "新希望", "蒙牛", "京东方",
                  "中建材", "三一", "中车", "海尔", "美的", "伊利", "长城", "晶澳"]
INVESTOR_SUFFIXES = ["科技集团有限公司", "投资有限公司", "新能源有限公司", "产业发展有限公司", "控股集团"]
SIGNING_EVENTS = ["京津冀协同发展重点项目集中签约", "中国·廊坊国际经济贸易洽谈会", "中国·河北投资贸易洽谈会",
                  "全省重点项目集中签约活动", "京津冀产业对接洽谈会", "线上云签约", "中国国际数字经济博览会"]
