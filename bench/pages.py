"""Page latency behind gunicorn (DEBUG off, as deployed) with many projects: median and 95th percentile
of the dashboard, the project list, its red-light filter and its page 1,000 for a province user, and the
same for a county user, with 1, 2 and 8 concurrent clients; SQL queries per page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hebei_bench .venv/bin/python bench/pages.py [--projects 100000]

The floor is the login page (no project queries) under the same load, measured in the same run. Each
row is the best (lowest median) of --repeat passes. The seeding ends as a live system's night does: the
lights judged by the beat task, then VACUUM ANALYZE. Cached summaries and counts are warm, as they are
for everyone after the first look; the first look's cost is the "cold" column (after the data version
moved, as a write moves it: nothing is emptied).
"""

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hebei_projects.settings")
# The sessions this process creates must verify under gunicorn's key; production shares its cache in
# Redis between workers (dashboard summaries), so does the bench: the Redis it is given (REDIS_URL), else
# one of its own (bench_redis), never a shared one it was not given.
os.environ["SECRET_KEY"] = "bench-" + "k" * 50
from bench_redis import for_this_run  # noqa: E402

for_this_run()

import django  # noqa: E402

django.setup()

from common import keep_one_connection, prepare_database  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from projects.models import Project, User  # noqa: E402
from projects.shared import versions  # noqa: E402

PORT = 8765
CONCURRENCY = (1, 2, 8)
PAGES = {"dashboard": "/", "list": "/projects/", "list, red": "/projects/?light=red", "page 1,000": "/projects/?page=1000"}


def session_cookie(username):
    client = Client()
    client.force_login(User.objects.get(username=username))
    return f"sessionid={client.cookies['sessionid'].value}"


def load(path, cookie, total, clients):
    """`total` GETs of `path` from `clients` threads at once; returns the latencies in ms."""
    latencies, errors = [], []
    lock = threading.Lock()
    per_client = total // clients

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        for _ in range(per_client):
            started = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                (latencies if response.status == 200 else errors).append(elapsed if response.status == 200 else response.status)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{path}: non-200 answers {errors[:5]}")
    return latencies


def p95(values):
    return statistics.quantiles(values, n=20)[-1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=48, help="requests per page, user and concurrency")
    parser.add_argument("--repeat", type=int, default=3, help="passes per row; the best is shown")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    args = parser.parse_args()

    prepare_database(args.projects)
    keep_one_connection()  # queries per page, in-process
    queries = {}
    for username in ("province", "zhengding"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        for label, path in PAGES.items():
            client.get(path)
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                assert client.get(path).status_code == 200
            queries[(username, label)] = len(captured.captured_queries)

    env = {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
    }
    # As a deployment does: the manifest of hashed static files that production settings serve.
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "hebei_projects.wsgi", "--workers", str(args.workers),
         "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/accounts/login/")
                break
            except OSError:
                time.sleep(0.2)
        load("/accounts/login/", "", 32, 8)  # warm the workers

        def best(path, cookie, clients):
            passes = [load(path, cookie, args.requests, clients) for _ in range(args.repeat)]
            return min(passes, key=statistics.median)

        floors = {clients: statistics.median(best("/accounts/login/", "", clients)) for clients in CONCURRENCY}
        print(f"gunicorn {args.workers} workers, {args.requests} requests per row, best of {args.repeat}")
        print("floor (login page) median ms: " + ", ".join(f"{floors[c]:.1f} with {c}" for c in CONCURRENCY))
        print(f"{'user':<10} {'page':<11} {'projects':>9} {'queries':>8} {'cold ms':>8} {'clients':>8} "
              f"{'median ms':>10} {'p95 ms':>8} {'ratio':>6}")
        for username in ("province", "zhengding"):
            cookie = session_cookie(username)
            visible = Project.objects.visible_to(User.objects.get(username=username)).count()
            for label, path in PAGES.items():
                if username != "province" and label == "page 1,000":
                    continue  # a county has a few pages
                versions.data_changed()  # every cached summary and row is stale, as after a write
                cold = load(path, cookie, 1, 1)[0]
                for clients in CONCURRENCY:
                    latencies = best(path, cookie, clients)
                    median = statistics.median(latencies)
                    print(f"{username:<10} {label:<11} {visible:>9} {queries[(username, label)]:>8} {cold:>8.1f} "
                          f"{clients:>8} {median:>10.1f} {p95(latencies):>8.1f} {median / floors[clients]:>6.1f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
