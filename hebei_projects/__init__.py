"""The Django project: settings, URLs, Celery app, middleware, cache and sessions."""

# Load the Celery app with Django so that @shared_task binds to it.
from hebei_projects.celery import app as celery_app

__all__ = ("celery_app",)
