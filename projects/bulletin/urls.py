"""The bulletins' URLs (included at /bulletins/ by projects.urls)."""

from django.urls import path

from projects.bulletin import views

urlpatterns = [
    path("", views.bulletin_list, name="bulletins"),
    path("<int:pk>/download/", views.bulletin_file, name="bulletin_file"),
]
