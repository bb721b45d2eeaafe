"""The security pages' URLs: verification, enrolment, recovery codes, password reset."""

from django.urls import path

from projects.security import views

urlpatterns = [
    path("two-factor/", views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/codes/", views.two_factor_codes, name="two_factor_codes"),
    path("two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password_reset/done/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
]
