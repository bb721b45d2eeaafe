"""The map page (一张图, issue 28)."""

from django.urls import path

from projects.atlas import views

urlpatterns = [
    path("", views.atlas_page, name="atlas"),
]
