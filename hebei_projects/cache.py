"""The cache is an accelerator: with Redis down the site is slower, never broken (issue 21, point 6).

`ResilientRedisCache` is Django's RedisCache whose every call, when Redis cannot be reached (refused, reset,
timed out), answers as an empty cache would: a read misses (`get` gives the default, `get_or_set` computes
the value), a write is dropped, `incr` finds no key. The caller computes from the database, as on a cold
cache. Connections are given short timeouts (`CACHE_SOCKET_TIMEOUT`), and after a failure the process goes
straight to the database for `CACHE_DOWN_RETRY_SECONDS` before trying Redis again, so that a page with
twenty cache reads does not wait twenty timeouts. The operator's log says so once per outage (a warning
from the logger `hebei_projects.cache`) and again when Redis answers.

What degrades while Redis is down: every read is computed (the dashboard's sums, the list's rows); the API's
throttle counts nothing (it keeps its history in the cache); an admin upload of a reference table waits for
its confirmation in the cache, so its confirmation asks to upload again. Sessions are in the database and
are untouched; Celery's broker is Redis too, and a task that cannot be queued stays recorded (tasks.py).
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)


def redis_errors():
    """The errors that mean "Redis cannot be reached now", as opposed to a bug in what we asked."""
    import redis

    return (redis.ConnectionError, redis.TimeoutError, ConnectionError, TimeoutError, OSError)


class ReusedRedisCacheClient(RedisCacheClient):
    """Django's RedisCacheClient builds a new redis.Redis around its connection pool for every call (about 0.1 ms of
    redis-py's set-up each: a cold list's twenty cache calls spent 2-4 ms on it). A redis.Redis is safe to share
    between threads (it takes a connection from the pool for each command), so one is kept per pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    """RedisCache that degrades to "nothing cached" while Redis is unreachable (see the module's doc).

    OPTIONS: `down_retry_seconds` (how long to skip Redis after a failure) and `after_outage` (the dotted
    path of a function called once when Redis answers again: what was written meanwhile could not
    invalidate what Redis still holds) besides the connection pool's own options (socket_timeout ...)."""

    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        self._down_retry_seconds = float(options.pop("down_retry_seconds", 10))
        self._after_outage = options.pop("after_outage", None)
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient
        self._down_until = 0.0
        self._lock = threading.Lock()

    # --- the breaker: one warning per outage, then no attempt until the retry time ---------------------

    def _is_down(self):
        return time.monotonic() < self._down_until

    def _failed(self, operation, error):
        with self._lock:
            first = self._down_until == 0.0
            self._down_until = time.monotonic() + self._down_retry_seconds
        if first:
            logger.warning(
                "cache unavailable (%s: %s): serving uncached from the database, trying Redis again every %gs",
                operation, error, self._down_retry_seconds,
            )

    def _answered(self):
        if self._down_until:
            with self._lock:
                was_down, self._down_until = self._down_until != 0.0, 0.0
            if was_down:
                logger.warning("cache available again: Redis answers")
                if self._after_outage:
                    from django.utils.module_loading import import_string

                    try:
                        import_string(self._after_outage)()
                    except Exception:  # never the reader's problem
                        logger.exception("after the cache outage: %s failed", self._after_outage)

    def _call(self, operation, fallback, *args, **kwargs):
        if self._is_down():
            return fallback()
        try:
            value = getattr(super(), operation)(*args, **kwargs)
        except redis_errors() as error:
            self._failed(operation, error)
            return fallback()
        self._answered()
        return value

    def validate_key(self, key):
        """Nothing to check: BaseCache warns of keys memcached would refuse (over 250 characters, spaces, control
        characters), which Redis stores as they are. Looking at every character of every key was a third of reading a
        cold dashboard's 300 data versions (0.9 of 2.4 ms)."""

    # --- every call of Django's cache API, with what an empty, forgetful cache would answer -----------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", lambda: False, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", lambda: default, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", lambda: None, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", lambda: False, key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", lambda: False, key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", dict, keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", lambda: False, key, version)

    def incr(self, key, delta=1, version=None):
        def missing():
            raise ValueError(f"Key '{key}' not found (cache unavailable)")

        return self._call("incr", missing, key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", lambda: list(data), data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", lambda: None, keys, version)

    def clear(self):
        return self._call("clear", lambda: False)


def caches_for(redis_url, *, socket_timeout, down_retry_seconds):
    """CACHES for the settings: Redis when given one (resilient, short timeouts), else local memory."""
    if not redis_url:
        # Room for a summary's pieces per region (some 200 a scope) beside the data versions: at the default
        # 300 entries, culling dropped the versions themselves, and every read started anew.
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 20000}}}
    return {
        "default": {
            "BACKEND": "hebei_projects.cache.ResilientRedisCache",
            "LOCATION": redis_url,
            "OPTIONS": {
                "socket_connect_timeout": socket_timeout,
                "socket_timeout": socket_timeout,
                "down_retry_seconds": down_retry_seconds,
                # Writes while Redis was away could not move the data version: move it now, so that no
                # summary cached before the outage is read as current.
                "after_outage": "projects.shared.versions.data_changed",
            },
        }
    }
