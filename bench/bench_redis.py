"""The Redis a benchmark uses: the one it is given, or one of its own — never someone else's.

With REDIS_URL set, that Redis is used as given; nothing in it is emptied (a "cold" pass moves the data
version instead, as a write does: versions.data_changed). Without it, a redis-server of the bench's own is
started on a free port (no persistence) and stopped when the bench ends; without redis-server installed,
each process has its local-memory cache (then gunicorn's workers do not share theirs, as they would in
production). Imported before django.setup(): it sets REDIS_URL for the settings and for gunicorn.
"""

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import time


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def use_given_or_own_redis():
    """REDIS_URL as given, else a Redis of this run's own (its URL in REDIS_URL while the block runs), else
    None (local memory). Yields the URL used."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    import redis

    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url, socket_connect_timeout=1).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the bench's own redis-server did not start on port {port}") from None
                time.sleep(0.05)
        os.environ["REDIS_URL"] = url
        yield url
    finally:
        os.environ.pop("REDIS_URL", None)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def for_this_run():
    """use_given_or_own_redis() for the whole process (its own server stopped at exit); says which."""
    given = bool(os.environ.get("REDIS_URL"))
    context = use_given_or_own_redis()
    url = context.__enter__()
    atexit.register(context.__exit__, None, None, None)
    if url is None:
        print("cache: local memory of each process (no REDIS_URL given, no redis-server installed)")
    else:
        print(f"cache: {url} ({'as given: nothing in it is emptied' if given else 'a Redis of the bench own, stopped at the end'})")
    return url
