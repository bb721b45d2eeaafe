"""Reference data: regions by division code, and the catalogues lists name (industries, programmes,
five batches, county clusters)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.domain.access import region_scope_q
from projects.domain.choices import IndustryCategory, RegionLevel, SpatialLayout
from projects.domain.figures import MONEY_MAX_DIGITS, MONEY_PLACES, money_validator
from projects.domain.names import local_name

MONEY = {"max_digits": MONEY_MAX_DIGITS, "decimal_places": MONEY_PLACES}


def money_field(verbose_name, *, validators=(), **kwargs):
    """An amount in 万元, held exactly (SPEC §2: store exact decimals), under the one rule for amounts."""
    return models.DecimalField(
        verbose_name=verbose_name,
        validators=[money_validator, *validators],
        **MONEY,
        **kwargs,
    )


class RegionQuerySet(models.QuerySet):
    def city_level(self):
        """Units that report as a city in provincial lists: the 11 cities plus 雄安新区, 定州市, 辛集市."""
        return self.filter(models.Q(level=RegionLevel.CITY) | models.Q(is_reporting_unit=True))

    def counties(self):
        return self.filter(level=RegionLevel.COUNTY)

    def visible_to(self, user):
        return self.filter(region_scope_q(user))


class Region(models.Model):
    """A division of Hebei by statistical code (GB/T 2260), or a unit that reports on its own (雄安新区)."""

    code = models.CharField(
        verbose_name=_("区划代码"),
        max_length=6,
        unique=True,
    )
    name = models.CharField(
        verbose_name=_("名称"),
        max_length=50,
    )
    # Generated from the Chinese name by load_reference_data (projects/names.py), shown in English mode.
    name_en = models.CharField(
        verbose_name=_("英文名称"),
        max_length=100,
        blank=True,
    )
    level = models.CharField(
        verbose_name=_("级别"),
        max_length=10,
        choices=RegionLevel.choices,
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级区划"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    reporting_city = models.ForeignKey(
        "self",
        verbose_name=_("填报所属市"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reporting_counties",
        help_text=_("县级单位在省级清单中所属的市级单位：一般为上级市；雄县、容城、安新为雄安新区；定州、辛集为其本身。"),
    )
    is_reporting_unit = models.BooleanField(
        verbose_name=_("单独填报单位"),
        default=False,
        help_text=_("在省级清单中作为市级单位单独填报（雄安新区、定州市、辛集市）。"),
    )
    is_statistical = models.BooleanField(
        verbose_name=_("统计区划"),
        default=True,
    )
    layout = models.CharField(
        verbose_name=_("空间布局"),
        max_length=10,
        choices=SpatialLayout.choices,
        blank=True,
    )
    yellow_lag = models.DecimalField(
        verbose_name=_("黄灯阈值（百分点）"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("投资完成率落后时序进度超过此值亮黄灯；留空使用全省默认值。"),
    )
    red_lag = models.DecimalField(
        verbose_name=_("红灯阈值（百分点）"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("投资完成率落后时序进度超过此值亮红灯；留空使用全省默认值。"),
    )

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self):
        return local_name(self)

    @property
    def is_city_level(self):
        return self.level == RegionLevel.CITY or self.is_reporting_unit


class Industry(models.Model):
    """An industry of the "4+4+3+N" system, held as editable data; groups are the tree's top nodes."""

    name = models.CharField(
        verbose_name=_("名称"),
        max_length=50,
        unique=True,
    )
    name_en = models.CharField(
        verbose_name=_("英文名称"),
        max_length=100,
        blank=True,
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级产业"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    category = models.CharField(
        verbose_name=_("产业类别"),
        max_length=20,
        choices=IndustryCategory.choices,
    )
    order = models.PositiveSmallIntegerField(
        verbose_name=_("排序"),
        default=0,
    )

    class Meta:
        verbose_name = _("产业")
        verbose_name_plural = _("产业")
        ordering = ["order", "name"]

    def __str__(self):
        return local_name(self)


class Programme(models.Model):
    """A list a project belongs to (省重点, 市重点, 县域特色产业集群, 招商引资, 技术改造)."""

    code = models.SlugField(
        verbose_name=_("代码"),
        max_length=30,
        unique=True,
    )
    name = models.CharField(
        verbose_name=_("名称"),
        max_length=50,
        unique=True,
    )
    name_en = models.CharField(
        verbose_name=_("英文名称"),
        max_length=100,
        blank=True,
    )
    order = models.PositiveSmallIntegerField(
        verbose_name=_("排序"),
        default=0,
    )

    class Meta:
        verbose_name = _("项目类别")
        verbose_name_plural = _("项目类别")
        ordering = ["order"]

    def __str__(self):
        return local_name(self)


class Batch(models.Model):
    """One of the 538 plan's "five batches" (五个一批)."""

    code = models.SlugField(
        verbose_name=_("代码"),
        max_length=30,
        unique=True,
    )
    name = models.CharField(
        verbose_name=_("名称"),
        max_length=50,
        unique=True,
    )
    name_en = models.CharField(
        verbose_name=_("英文名称"),
        max_length=100,
        blank=True,
    )
    order = models.PositiveSmallIntegerField(
        verbose_name=_("排序"),
        default=0,
    )

    class Meta:
        verbose_name = _("五个一批")
        verbose_name_plural = _("五个一批")
        ordering = ["order"]

    def __str__(self):
        return local_name(self)


class ClusterQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(region_scope_q(user, "county__"))


class Cluster(models.Model):
    """A county characteristic industrial cluster (县域特色产业集群), e.g. 南宫羊绒."""

    name = models.CharField(
        verbose_name=_("名称"),
        max_length=100,
        unique=True,
    )
    county = models.ForeignKey(
        Region,
        verbose_name=_("所属县（市、区）"),
        on_delete=models.PROTECT,
        related_name="clusters",
        limit_choices_to={"level": RegionLevel.COUNTY},
    )
    industry = models.ForeignKey(
        Industry,
        verbose_name=_("所属产业"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    description = models.TextField(
        verbose_name=_("简介"),
        blank=True,
    )

    objects = ClusterQuerySet.as_manager()

    class Meta:
        verbose_name = _("县域特色产业集群")
        verbose_name_plural = _("县域特色产业集群")
        ordering = ["county__code", "name"]

    def __str__(self):
        return self.name
