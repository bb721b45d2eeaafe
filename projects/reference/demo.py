"""Realistic demo data for demos and benchmarks (`manage.py seed_demo`).

Written for speed: rows are built in memory and bulk-inserted in batches, so 100,000 projects with
their plans, monthly reports and problems take minutes, not hours. Demo projects carry keys starting
with DEMO_KEY_PREFIX so that a re-run replaces them and leaves real projects alone.
"""

import datetime
import random
from decimal import Decimal

from django.db import transaction

from actions.models import Action, ActionPlan
from projects.accounts.services import user_set_role
from projects.domain import rules
from projects.domain.choices import DigestFrequency, ProblemCategory, ProblemStatus, ReviewStatus, Role, Stage, Status
from projects.models import (
    AnnualPlan,
    Batch,
    Cluster,
    DigestSubscription,
    Industry,
    Milestone,
    MilestoneKind,
    MonthlyReport,
    Problem,
    Programme,
    Project,
    Region,
    User,
)
from projects.reference.data import reference_data_load
from projects.shared.editing import progress_refresh
from projects.supervision import services as supervision

DEMO_KEY_PREFIX = "DM"
BATCH_SIZE = 2000

# (username, role, region code, display name)
DEMO_USERS = [
    ("province", Role.PROVINCE_ADMIN, "130000", "省发展改革委"),
    ("leader", Role.LEADER, "130000", "省领导"),
    ("shijiazhuang", Role.CITY_COORDINATOR, "130100", "石家庄市发展改革委"),
    ("xiongan", Role.CITY_COORDINATOR, "133100", "雄安新区改革发展局"),
    ("zhengding", Role.COUNTY_EDITOR, "130123", "正定县发展改革局"),
    ("nangong", Role.COUNTY_EDITOR, "130581", "南宫市发展改革局"),
]

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
PROGRESS_PHRASES = ["主体结构施工", "设备安装调试", "厂房封顶", "基础施工", "场地平整", "试生产", "钢结构吊装"]
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


@transaction.atomic
def demo_seed(*, projects, seed=1, password, on=None):
    """Replace the demo projects with `projects` new ones and (re)create the demo users.

    Returns a dict of counts and the demo users' names, for the command to print.
    """
    on = on or rules.today()
    rng = random.Random(seed)
    if not Region.objects.exists():
        reference_data_load()

    Project.objects.filter(key__startswith=DEMO_KEY_PREFIX).delete()

    counties_by_city = {}
    for county in Region.objects.counties():
        counties_by_city.setdefault(county.reporting_city_id, []).append(county)
    cities = list(Region.objects.city_level())
    programmes = {programme.code: programme for programme in Programme.objects.all()}
    batches = list(Batch.objects.all())
    industries = list(Industry.objects.filter(parent__isnull=False))
    clusters_by_county = {}
    for cluster in Cluster.objects.all():
        clusters_by_county.setdefault(cluster.county_id, []).append(cluster)
    primary_actions = list(Action.objects.filter(plan__is_primary=True))
    other_actions = list(Action.objects.filter(plan__in=ActionPlan.objects.filter(is_primary=False)))

    names = _seed_users(password)  # first: the demo leader contracts some projects
    leader = User.objects.get(username="leader")
    kinds = list(MilestoneKind.objects.filter(is_active=True))
    totals = {"projects": 0, "plans": 0, "reports": 0, "problems": 0}
    serial = 0
    used_names = set()  # (county or city, name): a county never has two projects of one name
    for start in range(0, projects, BATCH_SIZE):
        size = min(BATCH_SIZE, projects - start)
        built = []
        for _index in range(size):
            serial += 1
            built.append(_build_project(rng, serial, on, counties_by_city, cities, batches, industries, clusters_by_county,
                                        used_names))
        for project, _extra in built:
            project.set_sort_keys()
        Project.objects.bulk_create([project for project, _extra in built])

        programme_links, action_links, plans, reports, problems, nodes = [], [], [], [], [], []
        for project, extra in built:
            nodes.extend(_build_milestones(rng, project, kinds, on))
            if rng.random() < 0.01:
                project.contracting_leader = leader
            for code in extra["programmes"]:
                programme_links.append(Project.programmes.through(project_id=project.pk, programme_id=programmes[code].pk))
            # Every action in turn first, then maybe a second one at random.
            chosen = {primary_actions[project.pk % len(primary_actions)]}
            if rng.random() < 0.3:
                chosen.add(rng.choice(primary_actions))
            if other_actions and rng.random() < 0.2:
                chosen.add(rng.choice(other_actions))
            action_links.extend(Project.actions.through(project_id=project.pk, action_id=action.pk) for action in chosen)
            project_plans = _build_plans(rng, project, on)
            plans.extend(project_plans)
            if project_plans:
                reports.extend(_build_reports(rng, project, extra, project_plans[-1].planned_investment, on))
            problems.extend(_build_problems(rng, project, on))
        Project.programmes.through.objects.bulk_create(programme_links)
        Project.actions.through.objects.bulk_create(action_links)
        AnnualPlan.objects.bulk_create(plans)
        MonthlyReport.objects.bulk_create(reports, batch_size=5000)
        Problem.objects.bulk_create(problems)
        Milestone.objects.bulk_create(nodes, batch_size=5000)
        Project.objects.bulk_update([project for project, _extra in built if project.contracting_leader_id],
                                    ["contracting_leader"])
        totals["projects"] += size
        totals["plans"] += len(plans)
        totals["reports"] += len(reports)
        totals["problems"] += len(problems)

    progress_refresh(projects=Project.objects.filter(key__startswith=DEMO_KEY_PREFIX))
    totals["users"] = names
    # The morning's supervision run: items for the red projects, old problems and overdue reports.
    totals["supervision"] = supervision.supervision_run(on=on, enqueue=lambda _pk: None).opened
    return totals


def _build_project(rng, serial, on, counties_by_city, cities, batches, industries, clusters_by_county, used_names):
    # Cities in turn, so that even a small demo covers every city-level unit.
    city = cities[serial % len(cities)]
    own_counties = counties_by_city.get(city.pk)
    county = rng.choice(own_counties) if own_counties and rng.random() > 0.08 else None
    place = county or city
    industry = rng.choice(industries) if rng.random() < 0.9 else None
    for attempt in range(12):
        product = rng.choice(PRODUCTS.get(industry.name, GENERIC_PRODUCTS) if industry else GENERIC_PRODUCTS)
        brand = f"{place.name[:-1] if place.name[-1] in '市县区' else place.name}{rng.choice(OWNER_WORDS)}"
        name = f"{brand}{product}项目"
        if attempt >= 6:  # a busy county: a second or third phase of a project already listed
            name = f"{brand}{product}{PHASES[attempt % len(PHASES)]}项目"
        if (place.pk, name) not in used_names:
            break
    else:
        name = f"{brand}{product}项目（{serial}）"
    used_names.add((place.pk, name))
    owner = f"{brand}{rng.choice(OWNER_SUFFIXES)}"
    total = Decimal(int(rng.lognormvariate(10.0, 1.0)) + 3000)
    stage = rng.choices(
        [Stage.PREPARATORY, Stage.NEW_START, Stage.CONTINUING, Stage.COMPLETED], weights=[15, 25, 45, 15]
    )[0]
    status = rng.choices([Status.NORMAL, Status.BEHIND, Status.STALLED, Status.CANCELLED], weights=[91, 3, 4, 2])[0]
    start_year = on.year - (0 if stage in (Stage.PREPARATORY, Stage.NEW_START) else rng.randint(1, 2))
    end_year = start_year + rng.randint(1, 3)
    last_month = 12 if start_year < on.year else max(1, on.month - 2)
    planned_start = datetime.date(start_year, rng.randint(1, last_month), 1)
    actual_start = None
    if stage != Stage.PREPARATORY:
        actual_start = min(planned_start + datetime.timedelta(days=rng.randint(0, 60)), on)
    elif rng.random() < 0.88:  # most preparatory projects are planned to start later
        planned_start = on + datetime.timedelta(days=rng.randint(10, 300))
    programmes = ["provincial" if rng.random() < 0.15 else "municipal"]
    if county and county.pk in clusters_by_county:
        programmes.append("county-cluster")
    if rng.random() < 0.25:
        programmes.append(rng.choice(["investment-promotion", "tech-transformation"]))
    code = None
    if stage != Stage.PREPARATORY or rng.random() < 0.3:
        code = f"{start_year}-{place.code}-{rng.choice([7, 26, 30, 44]):02d}-{rng.choice([1, 2, 3]):02d}-{serial:05d}{rng.choice('0123456789X')}"
    project = Project(
        key=f"{DEMO_KEY_PREFIX}{serial:08d}",
        code=code,
        name=name,
        batch=rng.choice(batches),
        stage=stage,
        status=status,
        city=city,
        county=county,
        industry=industry,
        cluster=rng.choice(clusters_by_county[county.pk]) if county and county.pk in clusters_by_county else None,
        owner=owner,
        scope=f"总建筑面积{rng.randint(1, 30)}万平方米，建设{product}生产线{rng.randint(1, 6)}条及配套设施。",
        start_year=start_year,
        end_year=end_year,
        planned_start=planned_start,
        planned_end=datetime.date(end_year, rng.randint(1, 12), 1),
        actual_start=actual_start,
        actual_end=max(actual_start, on - datetime.timedelta(days=rng.randint(0, 200))) if stage == Stage.COMPLETED else None,
        total_investment=total,
        responsible_unit=f"{place.name}发展和改革局",
        contact=rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(["伟", "敏", "静", "磊", "洋", "勇", "艳", "杰"]),
        phone=f"13{rng.randint(100000000, 999999999)}",
    )
    # A quarter of the projects fall behind pace; a few stop reporting.
    # Most projects keep pace; some lag a little (yellow), a few far (red); a few stop reporting.
    pace = rng.choices([1.08, 1.02, 0.93, 0.8, 0.55], weights=[28, 45, 14, 8, 2.5])[0]
    extra = {"programmes": programmes, "pace": pace, "stops_reporting": rng.random() < 0.015}
    return project, extra


def _build_plans(rng, project, on):
    if project.actual_start is None and project.planned_start > on:
        return []  # not planned to start this year: no investment planned yet
    plans = []
    for year in range(max(project.start_year, on.year - 1), on.year + 1):
        share = Decimal(rng.randint(20, 50)) / 100
        if project.actual_start and project.actual_start.year == year:
            share *= Decimal(13 - project.actual_start.month) / 12  # planned from the start month on
        plans.append(
            AnnualPlan(
                project=project,
                year=year,
                planned_investment=(project.total_investment * share).quantize(Decimal("1")),
                completed_before_year=(project.total_investment * Decimal("0.3") * (year - project.start_year)).quantize(Decimal("1")),
            )
        )
    return plans


def _build_reports(rng, project, extra, plan, on):
    if project.actual_start is None:
        return []
    start = max(rules.month_start(project.actual_start), datetime.date(on.year, 1, 1))
    last_month = rules.latest_due_month(on=on)
    if project.actual_end:  # a completed project reports up to its completion, not after
        last_month = min(last_month, rules.month_start(project.actual_end))
    if extra["stops_reporting"]:
        last_month = rules.add_months(last_month, -rng.randint(1, 2))
    if last_month < start:
        return []
    # On pace = the year's plan in step with time progress, whenever the project started this year.
    reported = (last_month.year - start.year) * 12 + last_month.month - start.month + 1
    per_month = plan * Decimal(last_month.month) / 12 / reported
    reports = []
    month = start
    while month <= last_month:
        amount = per_month * Decimal(extra["pace"]) * Decimal(rng.uniform(0.9, 1.1))
        deadline = rules.report_deadline(month)
        reported_on = deadline - datetime.timedelta(days=rng.randint(-3, 4))
        reported_at = datetime.datetime.combine(reported_on, datetime.time(10), tzinfo=datetime.timezone.utc)
        # Earlier months were reviewed long ago; the month being collected is partly still under review.
        review = ReviewStatus.APPROVED
        if month == last_month:
            review = rng.choices([ReviewStatus.SUBMITTED, ReviewStatus.APPROVED, ReviewStatus.RETURNED], weights=[55, 40, 5])[0]
        reports.append(
            MonthlyReport(
                project=project,
                month=month,
                completed_investment=amount.quantize(Decimal("0.01")),
                image_progress=rng.choice(PROGRESS_PHRASES),
                reported_at=reported_at,
                review_status=review,
                reviewed_at=None if review == ReviewStatus.SUBMITTED else reported_at + datetime.timedelta(days=1),
                review_reason=rng.choice(RETURN_REASONS) if review == ReviewStatus.RETURNED else "",
            )
        )
        month = rules.add_months(month, 1)
    if project.actual_end and reports and reports[-1].month == rules.month_start(project.actual_end):
        reports[-1].image_progress = "竣工验收，投产运行"
    return reports


# Each node's planned date, in days from the planned start (the first five) or the planned end (the rest).
NODE_OFFSETS = {"立项/备案": -150, "用地": -100, "规划许可": -70, "环评": -60, "施工许可": -20, "开工": 0,
                "主体完工": -120, "竣工验收": 0, "投产": 30}


def _build_milestones(rng, project, kinds, on):
    """The nodes of a project with planned dates: done on time mostly, some late, the future ones open."""
    if project.planned_start is None or project.planned_end is None:
        return []
    nodes = []
    for kind in kinds:
        offset = NODE_OFFSETS.get(kind.name)
        if offset is None:
            continue
        base = project.planned_start if kind.name in ("立项/备案", "用地", "规划许可", "环评", "施工许可", "开工") else project.planned_end
        planned = base + datetime.timedelta(days=offset)
        actual = None
        if kind.name == "开工":
            actual = project.actual_start
        elif planned < on and rng.random() < 0.93:
            actual = planned + datetime.timedelta(days=rng.randint(-10, 20))
        nodes.append(Milestone(project=project, kind=kind, planned_on=planned, actual_on=min(actual, on) if actual else None))
    return nodes


def _build_problems(rng, project, on):
    if rng.random() > 0.12:
        return []
    category, description = rng.choice(PROBLEMS)
    raised = on - datetime.timedelta(days=rng.randint(3, 120))
    resolved = rng.random() < 0.4
    if project.actual_end or project.status == Status.CANCELLED:
        # A completed or cancelled project has nothing left open: its problems were settled before.
        end = project.actual_end or on
        raised, resolved = min(raised, end - datetime.timedelta(days=10)), True
    return [
        Problem(
            project=project,
            category=category,
            description=description,
            responsible_unit=f"{(project.county or project.city).name}相关部门",
            raised_on=raised,
            status=ProblemStatus.RESOLVED if resolved else rng.choice([ProblemStatus.OPEN, ProblemStatus.IN_PROGRESS]),
            resolution="已协调解决" if resolved else "",
            resolved_on=min(raised + datetime.timedelta(days=rng.randint(1, 9)), project.actual_end or on) if resolved else None,
        )
    ]


def _seed_users(password):
    names = []
    for username, role, region_code, display in DEMO_USERS:
        user, _created = User.objects.update_or_create(
            username=username,
            defaults={
                "region": Region.objects.get(code=region_code),
                "first_name": display,
                "email": f"{username}@example.org",
                "is_staff": True,
                "is_active": True,
            },
        )
        user.set_password(password)
        user.save()
        user_set_role(user=user, role=role)
        for frequency in DigestFrequency:
            DigestSubscription.objects.get_or_create(user=user, frequency=frequency)
        names.append((username, role.label, display))
    return names
