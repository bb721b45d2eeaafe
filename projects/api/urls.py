"""/api/v1/ — the REST API (version 1), its OpenAPI schema and its documentation (served offline)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from projects.api import rankings, views

router = DefaultRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register("plans", views.AnnualPlanViewSet, basename="plan")
router.register("reports", views.MonthlyReportViewSet, basename="report")
router.register("problems", views.ProblemViewSet, basename="problem")
router.register("supervision-items", views.SupervisionItemViewSet, basename="supervision-item")
router.register("regions", views.RegionViewSet, basename="region")
router.register("programmes", views.ProgrammeViewSet, basename="programme")
router.register("batches", views.BatchViewSet, basename="batch")
router.register("industries", views.IndustryViewSet, basename="industry")
router.register("clusters", views.ClusterViewSet, basename="cluster")
router.register("action-plans", views.ActionPlanViewSet, basename="action-plan")

v1 = [
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("rankings/", rankings.RankingView.as_view(), name="rankings"),
    *router.urls,
]

urlpatterns = [
    path("v1/", include((v1, "v1"), namespace="v1")),
    path("schema/", views.SchemaView.as_view(api_version="v1"), name="api-schema"),  # generated once per process
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
