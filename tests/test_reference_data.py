import csv
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command

from actions.models import Action, ActionPlan, Measure
from projects.domain.access import ROLE_GROUP_NAMES
from projects.domain.choices import RegionLevel, Role
from projects.models import Batch, Cluster, Industry, Programme, Region

EIGHT_ACTIONS = [
    "产业创新能力提升行动",
    "产业链现代化攻坚行动",
    "融合发展深化行动",
    "企业梯度培育行动",
    "绿色制造转型行动",
    "开放合作深化行动",
    "质量品牌提升行动",
    "制造业人才培育行动",
]


def snapshot():
    return {
        model.__name__: sorted(model.objects.values_list("pk", flat=True))
        for model in (Region, Programme, Batch, Industry, Cluster, ActionPlan, Action, Measure, Group)
    }


def test_every_division_of_the_shared_list_is_loaded(db):
    shared = Path(settings.BASE_DIR).parent / "shared" / "data" / "hebei_divisions.csv"
    source = shared if shared.exists() else Path(settings.BASE_DIR) / "fixtures" / "hebei_divisions.csv"
    rows = list(csv.DictReader(source.open(encoding="utf-8")))
    assert len(rows) == 202
    for row in rows:
        region = Region.objects.get(code=row["code"])
        assert (region.name, region.level) == (row["name"], row["level"])
        assert (region.parent.code if region.parent else "") == row["parent_code"]
    assert Region.objects.count() == 203  # plus 雄安新区
    assert Region.objects.filter(level=RegionLevel.COUNTY).count() == 190


def test_reporting_units(db):
    city_level = set(Region.objects.city_level().values_list("name", flat=True))
    assert len(city_level) == 14
    assert {"雄安新区", "定州市", "辛集市", "石家庄市", "保定市"} <= city_level
    xiongan = Region.objects.get(name="雄安新区")
    assert set(xiongan.reporting_counties.values_list("name", flat=True)) == {"雄县", "容城县", "安新县"}
    rongcheng = Region.objects.get(name="容城县")
    assert rongcheng.parent.name == "保定市" and rongcheng.reporting_city == xiongan
    dingzhou = Region.objects.get(name="定州市")
    assert dingzhou.reporting_city == dingzhou and dingzhou.is_city_level
    assert Region.objects.get(code="130104").reporting_city.name == "石家庄市"  # 桥西区 of 石家庄
    assert Region.objects.get(code="130703").reporting_city.name == "张家口市"  # 桥西区 of 张家口
    assert xiongan.layout == "core" and Region.objects.get(name="唐山市").layout == "pole"


def test_catalogues(db):
    plan = ActionPlan.objects.get(is_primary=True)
    assert list(plan.actions.order_by("number").values_list("name", flat=True)) == EIGHT_ACTIONS
    assert all(action.name_en and action.measures.exists() for action in plan.actions.all())
    assert Measure.objects.get(title="深化新一轮技术改造").action.number == 1
    six = ActionPlan.objects.get(code="industry-2023-six-actions")
    assert six.actions.count() == 6
    assert six.actions.get(number=1).targets.get(indicator="实施工业项目").value == 10000
    assert list(Programme.objects.values_list("name", flat=True)) == ["省重点", "市重点", "县域特色产业集群", "招商引资", "技术改造"]
    assert list(Batch.objects.values_list("name", flat=True)) == [
        "重大战略动力项目", "重大产业项目", "现代服务业项目", "基础设施和民生项目", "县域优势项目",
    ]
    leaves = Industry.objects.filter(parent__isnull=False)
    assert leaves.count() == 15
    assert set(Industry.objects.get(name="传统优势产业").children.values_list("name", flat=True)) == {"钢铁", "装备制造", "石化", "食品"}
    assert Industry.objects.get(name="量子信息").parent.name == "未来产业"
    assert Cluster.objects.get(name="南宫羊绒产业集群").county.name == "南宫市"
    assert Cluster.objects.count() == 6


def test_role_groups_hold_their_permissions(db):
    leader = Group.objects.get(name=ROLE_GROUP_NAMES[Role.LEADER])
    assert leader.permissions.exists()
    assert not leader.permissions.exclude(codename__startswith="view_").exclude(content_type__model="digestsubscription").exists()
    editor = Group.objects.get(name=ROLE_GROUP_NAMES[Role.COUNTY_EDITOR])
    assert editor.permissions.filter(codename="change_project").exists()
    assert not editor.permissions.filter(codename="delete_project").exists()


def test_loading_again_changes_nothing(db, capsys):
    before = snapshot()
    Region.objects.filter(code="130100").update(name="改坏了")
    call_command("load_reference_data")
    call_command("load_reference_data")
    assert snapshot() == before
    assert Region.objects.get(code="130100").name == "石家庄市"  # and it repairs edited rows
    assert "reference data loaded" in capsys.readouterr().out
