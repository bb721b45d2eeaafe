from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from projects import views, views_supervision

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("projects/", views.project_list, name="project_list"),
    path("projects/export/", views.project_export, name="project_export"),
    path("projects/<int:pk>/", views.project_detail, name="project_detail"),
    path("projects/<int:pk>/milestones/", views.project_milestones, name="project_milestones"),
    path("projects/<int:pk>/supervise/", views_supervision.supervision_open, name="supervision_open"),
    path("supervision/", views_supervision.supervision_page, name="supervision"),
    path("supervision/<int:pk>/", views_supervision.supervision_item, name="supervision_item"),
    path("reports/", views.monthly_report, name="monthly_report"),
    path("reports/review/", views.report_review, name="report_review"),
    path("actions/", views.action_plan, name="action_plan"),
    path("profile/", views.profile, name="profile"),
    path("accounts/", include("projects.security.urls")),  # two-factor login, password reset (issue 22)
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    # The link in the account-opened mail (new users have no usable password until they set one here).
    path("accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("projects.api.urls")),
]
