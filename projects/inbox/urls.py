"""The inbox's URLs (included at /inbox/ by projects.urls)."""

from django.urls import path

from projects.inbox import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("start/", views.start, name="start"),
]
