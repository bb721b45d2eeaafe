"""The benches' settings: the app's own, unchanged, with the benches' URLconf (bench/urls.py), which adds the
floors they measure against. Used by the gunicorn the page and API benches start, and by those benches'
own process; never by the app, which ships no floor endpoint."""

from hebei_projects.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
