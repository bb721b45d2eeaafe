"""The site's pages, each from the room that owns it: pages/ (dashboard, list, project, actions, profile),
dispatch/ (monthly report and review), supervision/ (督办), security/ (sign-in, two-factor), api/."""

from django.urls import include, path

from projects.dispatch import views as dispatch_views
from projects.evidence import views as evidence_views
from projects.pages import actions, dashboard, profile, project_detail, project_list
from projects.supervision import views as supervision_views

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("projects/", project_list.project_list, name="project_list"),
    path("projects/export/", project_list.project_export, name="project_export"),
    path("projects/<int:pk>/", project_detail.project_detail, name="project_detail"),
    path("projects/<int:pk>/milestones/", project_detail.project_milestones, name="project_milestones"),
    path("projects/<int:pk>/supervise/", supervision_views.supervision_open, name="supervision_open"),
    path("supervision/", supervision_views.supervision_page, name="supervision"),
    path("rankings/", include("projects.rankings.urls")),  # 排名 (issue 28)
    path("map/", include("projects.atlas.urls")),  # 一张图 (issue 28)
    path("bulletins/", include("projects.bulletin.urls")),  # 调度通报 (issue 28)
    path("supervision/<int:pk>/", supervision_views.supervision_item, name="supervision_item"),
    path("reports/", dispatch_views.monthly_report, name="monthly_report"),
    path("reports/review/", dispatch_views.report_review, name="report_review"),
    path("inbox/", include("projects.inbox.urls")),  # 待办 and the page after login (issue 26)
    path("actions/", actions.action_plan, name="action_plan"),
    path("profile/", profile.profile, name="profile"),
    path("accounts/", include("projects.security.urls")),  # two-factor login, password reset (issue 22)
    path("api/", include("projects.api.urls")),
    # Site photos and project documents (issue 26): files only through these views, which check visible_to.
    path("reports/<int:project_pk>/<str:month>/photos/", evidence_views.report_photos, name="report_photos"),
    path("evidence/photos/<int:pk>/", evidence_views.photo_file, name="evidence_photo"),
    path("evidence/photos/<int:pk>/thumbnail/", evidence_views.photo_thumbnail, name="evidence_photo_thumbnail"),
    path("evidence/documents/<int:pk>/", evidence_views.document_file, name="evidence_document"),
    path("projects/<int:pk>/documents/", evidence_views.project_documents, name="project_documents"),
]
