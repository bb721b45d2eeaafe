"""The ranking's page and its export (the API's endpoint is in projects.api)."""

from django.urls import path

from projects.rankings import views

urlpatterns = [
    path("", views.rankings_page, name="rankings"),
    path("export/", views.rankings_export, name="rankings_export"),
]
