"""The Celery application: `celery -A hebei_projects worker` and `celery -A hebei_projects beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")

app = Celery("hebei_projects")
# Every CELERY_* Django setting configures the app; see settings.py for the broker and eager mode.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages inside the projects app with tasks of their own (autodiscovery looks only at apps' tasks.py).
app.autodiscover_tasks(["projects.audit"])
