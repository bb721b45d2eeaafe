"""GET /api/v1/rankings/?month=YYYY-MM&level=city|county — the monthly ranking (排名) the caller may see, as the
排名 page shows it (projects.rankings.reads.unit_ranking): a bad parameter answers 400 naming it; a city or county
where the province does not let them see rankings (RANKING_VISIBLE_TO_COUNTIES) 403."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from projects.api.permissions import ReadOnlyAuthenticated
from projects.rankings.params import BadParameter, read_params
from projects.rankings.reads import unit_ranking

_TREND = {name: serializers.JSONField() for name in ("current", "previous", "last_year")}

RankingSerializer = inline_serializer(name="Ranking", fields={
    "month": serializers.CharField(help_text="YYYY-MM"),
    "level": serializers.CharField(help_text="city | county"),
    "scope": serializers.CharField(allow_null=True, help_text="排名范围所属的市（全省为 null）"),
    "weights": inline_serializer(name="RankingWeightRow", many=True, fields={
        "indicator": serializers.CharField(), "label": serializers.CharField(), "weight": serializers.IntegerField()}),
    "rows": inline_serializer(name="RankingRow", many=True, fields={
        "region": serializers.IntegerField(), "code": serializers.CharField(), "name": serializers.CharField(),
        "ranked": serializers.BooleanField(), "rank": serializers.IntegerField(allow_null=True),
        "rank_change": serializers.IntegerField(allow_null=True, help_text="较上月上升的名次（负数为下降）"),
        "score": serializers.FloatField(allow_null=True), "projects": serializers.IntegerField(),
        "own": serializers.BooleanField(help_text="调用者本单位"),
        "cells": serializers.DictField(child=inline_serializer(name="RankingCell", fields={
            "value": serializers.FloatField(allow_null=True), "text": serializers.CharField(),
            "rank": serializers.IntegerField(allow_null=True), "change": serializers.IntegerField(allow_null=True)})),
        "trend": inline_serializer(name="RankingUnitTrend", fields=_TREND, allow_null=True),
    }),
    "scope_trend": inline_serializer(name="RankingScopeTrend", fields=_TREND),
})


def _trend(trend):
    if trend is None:
        return None
    def plain(figures):
        return {key: (float(value) if value is not None and not isinstance(value, int) else value)
                for key, value in figures.items()}
    return {"current": plain(trend.current), "previous": plain(trend.previous), "last_year": plain(trend.last_year)}


class RankingView(APIView):
    """The monthly ranking of the caller's units (the province: cities, or every county; a city: its counties or
    the cities; a county: its city's counties, where the province allows)."""

    permission_classes = [ReadOnlyAuthenticated]

    @extend_schema(summary="排名", responses=RankingSerializer, parameters=[
        OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM（默认最近一个已过报送截止日的月份）"),
        OpenApiParameter("level", OpenApiTypes.STR, enum=["city", "county"],
                         description="city：各市；county：各县（省级为全省各县，市级为本市各县）"),
    ])
    def get(self, request, *args, **kwargs):
        try:
            month, level = read_params(request.query_params, request.user)
        except BadParameter as error:
            raise ValidationError({error.name: [str(error)]}) from None
        ranking = unit_ranking(request.user, month=month, level=level)
        return Response({
            "month": ranking.month.strftime("%Y-%m"),
            "level": ranking.level,
            "scope": str(ranking.scope) if ranking.scope else None,
            "weights": [{"indicator": value, "label": label, "weight": weight} for value, label, weight in ranking.weights],
            "rows": [{
                "region": row.region.pk, "code": row.region.code, "name": str(row.region), "ranked": row.ranked,
                "rank": row.rank, "rank_change": row.rank_change, "score": row.score, "projects": row.projects,
                "own": row.own,
                "cells": {indicator: {"value": cell.value, "text": cell.text, "rank": cell.rank, "change": cell.change}
                          for indicator, cell in row.cells.items()},
                "trend": _trend(row.trend),
            } for row in ranking.rows],
            "scope_trend": _trend(ranking.scope_trend),
        })
