"""The data version: one counter that every write moves, so cached counts and summaries are read only while
the data they were computed from is unchanged."""

import hashlib

from django.core.cache import cache

# Summing a province's projects takes a few hundred milliseconds; leaders open the dashboard far more
# often than the data changes. Summaries are cached under the data's version, which every write moves
# (projects.signals and the bulk services call data_changed), and for at most SUMMARY_CACHE_SECONDS.

DATA_VERSION_KEY = "projects:data-version"


SUMMARY_CACHE_SECONDS = 600


def data_version():
    return cache.get_or_set(DATA_VERSION_KEY, 1, timeout=None)


def data_changed():
    try:
        cache.incr(DATA_VERSION_KEY)
    except ValueError:  # not set yet, or evicted
        cache.set(DATA_VERSION_KEY, 2, timeout=None)


def versioned_key(*parts):
    """A cache key for what `parts` (which must name everything it depends on) give at this data version."""
    return hashlib.sha256(repr((data_version(), *parts)).encode()).hexdigest()


def cached_summary(parts, compute):
    """compute() cached under `parts` and the data version."""
    return cache.get_or_set(f"projects:summary:{versioned_key(*parts)}", compute, timeout=SUMMARY_CACHE_SECONDS)
