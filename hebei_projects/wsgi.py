"""
WSGI config for hebei_projects project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'hebei_projects.settings')

application = get_wsgi_application()

# What a worker loads to serve (settings, apps, models, admin, the URLconf and its views) lives as long as the process:
# moved out of the garbage collector's reach (gc.freeze), so that a full collection no longer walks it all in the
# middle of a request. A cold dashboard, which unpickles many cached pieces, paused 100-200 ms about one time in ten.
get_resolver().url_patterns
gc.freeze()
