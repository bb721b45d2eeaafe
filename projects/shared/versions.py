"""Data versions: what a cached count or summary was computed from, so that it is read only while that data is
unchanged — and a write makes cold only what it can change.

Kinds of counter, in the cache:
- the epoch, moved by a change that may touch every figure (reference data, the calendar, a daily run);
- the province's, moved by every write to projects and their reports, plans, problems, nodes and items;
- one per region, moved by a write to a project of that region (its city and its county); and, for the pieces
  of summaries (pieces.cached_per_region), one per city-level unit's own projects (those of no county) and one for
  projects of no region, so that a county's report leaves its city's own piece warm; and one per part of each
  of those in each count of parts a region may be kept in (a project's part is its id modulo the count), so that
  the larger regions' summaries are kept in parts and a write re-sums its project's part alone (pieces.region_slots);
- the 督办 items' own, moved by a write of an item or of a project but not by reports (supervision_key);
- the projects' places, moved when a project is created, deleted, moved to another region or reordered (places_key);
- the stored lights of each region and of the province, moved when one of their projects' lights turns;
- one per project's row, moved by a write to it (rows_key): a page is kept under the rows it shows.
A summary cached for a city's or a county's users is keyed by the epoch and that region's counter, so a
county's report leaves every other county's (and city's) cached pages warm; what province-wide users and
leaders (whose 包联 projects lie anywhere) read is keyed by the epoch and the province's counter.

A write moves its counters at once and, inside a transaction, again when it commits (_at_commit).
A missing counter (first use, eviction, a cache that was down) starts at a random value, never at one an
older summary may have been cached under. When a cold summary is asked for by several requests at once,
one computes it and the others wait for its result (computed_once, cached_summary).
"""

import hashlib
import logging
import secrets
import time
from contextvars import ContextVar

from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import connection, transaction
from django.db.models import F, IntegerField
from django.db.models.functions import Mod
from django.dispatch import Signal

from projects.domain.access import scope_key
from projects.models import Project

# Summing a province's projects takes a few hundred milliseconds; leaders open the dashboard far more
# often than the data changes. Summaries are cached under the data's versions, which writes move
# (projects.signals and the bulk services call data_changed), and for at most SUMMARY_CACHE_SECONDS.
SUMMARY_CACHE_SECONDS = 600
# A region's piece of a summary outlives the summaries merged from it: most regions do not change for hours,
# and one that does is keyed anew by its version. The limit bounds what a missed invalidation could show.
PIECE_CACHE_SECONDS = 3600
# While one request computes a summary anew, the others may be given the previous one (marked stale) if it
# is at most this old; past it they wait for the new one.
STALE_SECONDS = 30
# One request computes a cold summary; the others wait for it this long at most, then compute themselves.
COMPUTE_WAIT_SECONDS = 15
# A cold list is drawn in 50-80 ms: polled every 50 ms, a waiting request was answered up to 50 ms after the value
# was there. A poll is two cache reads.
COMPUTE_POLL_SECONDS = 0.01

# Beyond this many projects a write is taken to touch everything (the night's refresh, a province's list).
REGIONS_OF_AT_MOST = 2000

DATA_VERSION_KEY = "projects:data-version"  # the epoch
PROVINCE_VERSION_KEY = "projects:data-version:province"
REGION_VERSION_KEY = "projects:data-version:region:{}"
OWN_VERSION_KEY = "projects:data-version:own:{}"  # a city-level unit's projects of no county
UNPLACED_VERSION_KEY = "projects:data-version:unplaced"  # projects of no region
PART_VERSION_KEY = "projects:data-version:part:{}:{}:{}"  # a part ("county" or "own", region id, part_number)
# The 督办 items' own, with the projects' places and 包联 leaders (who sees and answers an item): moved by a write of
# an item or of a project, not by reports, plans, problems or nodes, so that what is read from the items alone
# (the 待办 count's 督办 lines) stays warm while a scope reports.
SUPERVISION_VERSION_KEY = "projects:data-version:supervision"
# Which projects there are, where and in which order (PLACING_FIELDS): moved by a project's creation, deletion, move or
# reorder and by every write that does not say it left them in place (data_changed's `places_moved`), not by reports,
# plans, nodes, a project's lights or its other fields. A list's count that reads nothing else (its scope, region
# filters, search and sort: ProjectFilterSet.counts_by_place) is kept under it, so that a report leaves the count of
# every list warm.
PLACES_VERSION_KEY = "projects:data-version:places"
# Today's stored lights (lights.lights_refresh) of a region (its id), or of the province ("province"): moved when one of
# its projects' stored lights changes. Which projects of a place a page filtered or sorted by light shows, while the
# stored lights are read, is kept under the place's and the places' version (kept_pages).
LIGHTS_VERSION_KEY = "projects:data-version:lights:{}"

# Sent with the places a write wrote ((city id, county id, finest part): data_changed's) once their versions have moved
# for good, at the commit of its transaction, when they are at most PLACES_WRITTEN_AT_MOST (a report, a review, a
# project's save; not an import): what is kept per region may then be computed anew for the readers that follow, a
# summary kept on write (the menu's 待办 count: inbox.signals).
places_written = Signal()
PLACES_WRITTEN_AT_MOST = 8

logger = logging.getLogger(__name__)

# One project's row (its fields, plans, reports, nodes, items): a page of rows chosen by place alone is kept under the
# versions of the rows it shows (kept_pages), so that a write to another project leaves it. Moved by a write naming
# its projects; one of more than PROJECTS_OF_AT_MOST, or of places without their projects, moves every row's instead.
PROJECT_VERSION_KEY = "projects:data-version:project:{}"
ROWS_VERSION_KEY = "projects:data-version:rows"
PROJECTS_OF_AT_MOST = 500

# How many parts a region's projects may fall into (by id): a region kept in parts is kept in one of PART_COUNTS (its
# fewest parts of at most pieces.PART_SIZE projects), so that a write re-sums some hundreds of projects wherever it
# lands (6,500 in the province's largest region: with eight parts of 800 a write there re-summed twice what one in an
# ordinary county did). A part of a region kept in k parts is numbered k + (id mod k): one number names both.
MOST_PARTS = 32
PART_COUNTS = (2, 4, 8, 16, 32)
# Beyond this many versions to move a write is taken to touch everything (a Redis round trip each).
KEYS_OF_AT_MOST = 2000


def _fresh():
    return secrets.randbits(62)


# The versions a request has read, kept for the rest of it: a cold list asked for them eight times, a Redis round
# trip each (versioned keys of its body, rows, count, menu and 待办 count, the pieces). A request then reads one
# state of the versions throughout; a write of its own (_move) forgets them. Outside a request (tasks, commands)
# every read asks the cache.
_request_versions = ContextVar("request_versions", default=None)


def _request_began(**_kwargs):
    _request_versions.set({})


def _request_ended(**_kwargs):
    _request_versions.set(None)


request_started.connect(_request_began, dispatch_uid="projects.versions.request_began")
request_finished.connect(_request_ended, dispatch_uid="projects.versions.request_ended")


def read_versions(keys):
    """The versions under `keys`, each read from the cache once a request (a missing one set to a new value)."""
    return _read(keys)


def _read(keys):
    known = _request_versions.get()
    if known is None:
        return _read_cache(keys)
    wanted = [key for key in keys if key not in known]
    if wanted:
        known.update(zip(wanted, _read_cache(wanted)))
    return tuple(known[key] for key in keys)


def _read_cache(keys):
    found = cache.get_many(keys)
    missing = [key for key in keys if key not in found]
    for key in missing:
        cache.add(key, _fresh(), timeout=None)
    if missing:
        found.update(cache.get_many(missing))
    # A cache that does not answer (Redis down) keeps nothing: every read is then a new version, so
    # nothing cached is ever read as current.
    return tuple(found[key] if key in found else _fresh() for key in keys)


def _move(key):
    _incr(key)
    if connection.in_atomic_block:
        _at_commit("version_keys", _move_again).add(key)


def _move_again(keys):
    for moved in sorted(keys):
        _incr(moved)


def _move_rows(projects):
    """Move the versions of `projects`' rows (PROJECT_VERSION_KEY): new random values, in one cache write for all, at
    once and (as _move) again at commit."""
    keys = [PROJECT_VERSION_KEY.format(pk) for pk in projects]
    _set_fresh(keys)
    if connection.in_atomic_block:
        _at_commit("fresh_keys", lambda moved: _set_fresh(sorted(moved))).update(keys)


def _set_fresh(keys):
    known = _request_versions.get()
    if known is not None:
        known.clear()
    cache.set_many({key: _fresh() for key in keys}, timeout=None)


def _incr(key):
    known = _request_versions.get()
    if known is not None:
        known.clear()
    try:
        cache.incr(key)
    except ValueError:  # not set yet, or evicted
        cache.set(key, _fresh(), timeout=None)


def _at_commit(name, run):
    """The set that run(it) is given when the current transaction commits: one callback a transaction (a savepoint) for
    each `name`, registered on first use, so that callbacks run in the order their names were first used; a savepoint
    rolled back takes its own callback with it, not its transaction's.

    A write moves its versions at once (the writer's own next read is new), and inside a transaction again when it
    commits ("version_keys", "fresh_keys"): a reader between the two (another request) saw the new version but not the
    uncommitted rows, and kept what it computed from the rows before the write under that version, for minutes. Moved
    again, what it kept is never read."""
    savepoints = set(connection.savepoint_ids)
    for registered_in, callback, _robust in connection.run_on_commit:
        if registered_in == savepoints and hasattr(callback, name):
            return getattr(callback, name)

    def callback():
        run(getattr(callback, name))

    setattr(callback, name, set())
    transaction.on_commit(callback, robust=True)
    return getattr(callback, name)


def data_version():
    """The epoch: moved by a change that may touch everything."""
    return _read([DATA_VERSION_KEY])[0]


def project_part(pk="pk", parts=MOST_PARTS):
    """A project's part of `parts` (0 to parts - 1), from the field holding its id (`pk`, or "project_id" on its rows);
    by default its finest, from which every coarser one follows (PART_COUNTS divide MOST_PARTS)."""
    return Mod(F(pk), parts, output_field=IntegerField())


def part_of(project_pk):
    """project_part of one project, in Python: its finest."""
    return project_pk % MOST_PARTS


def part_number(parts, part):
    """The number of part `part` (0 to parts - 1) of a region kept in `parts`: parts + part, so that one number
    names both (a region's parts are numbered parts to 2 * parts - 1)."""
    return parts + part


def parts_of_number(number):
    """(parts, part) that part_number gave `number`."""
    parts = 1 << (number.bit_length() - 1)
    return parts, number - parts


def data_changed(*, places=None, places_moved=True, projects=None, lights_moved=False):
    """Move the versions of what a write may have changed: `places` are the (city id, county id, part) of the
    projects written (before and after; part_of their ids, the finest); without them everything may have changed.
    A project's part is moved in every count of parts a region may be kept in: which one its region is kept in is
    the pieces' to know. `places_moved`: whether projects may have come, gone, changed region or order
    (PLACES_VERSION_KEY); only a write that knows it did not (a report, a light, a project's other fields) says False.
    `projects`: the ids of the projects written, whose rows' versions move (PROJECT_VERSION_KEY); without them, every
    row's. `lights_moved`: their stored lights changed (LIGHTS_VERSION_KEY of their regions and the province's)."""
    if places is None:
        _move(DATA_VERSION_KEY)
        return
    rows_named = projects is not None and len(projects) <= PROJECTS_OF_AT_MOST
    keys = {PROVINCE_VERSION_KEY, *([PLACES_VERSION_KEY] if places_moved else []),
            *([] if rows_named else [ROWS_VERSION_KEY])}
    if lights_moved:
        keys.add(LIGHTS_VERSION_KEY.format("province"))
    for city, county, part in places:
        keys.update(REGION_VERSION_KEY.format(region) for region in (city, county) if region is not None)
        if lights_moved:
            keys.update(LIGHTS_VERSION_KEY.format(region) for region in (city, county) if region is not None)
        if county is None:
            keys.add(UNPLACED_VERSION_KEY if city is None else OWN_VERSION_KEY.format(city))
        if county is not None or city is not None:
            region = ("county", county) if county is not None else ("own", city)
            keys.update(PART_VERSION_KEY.format(*region, part_number(parts, part % parts)) for parts in PART_COUNTS)
    if len(keys) > KEYS_OF_AT_MOST:
        _move(DATA_VERSION_KEY)
        return
    for key in sorted(keys):
        _move(key)
    if rows_named:
        _move_rows(projects)
    _written_at_commit(places)


def _written_at_commit(places):
    """places_written for `places` once they are committed: at once outside a transaction; inside one, in one callback
    a transaction (a savepoint), registered after its versions' (_at_commit), so it runs after they moved again."""
    if not connection.in_atomic_block:
        _send_written(set(places))
        return
    _at_commit("places", _send_written).update(places)


def _send_written(places):
    # A receiver that fails (the database or the cache away) leaves its readers to compute: the write stands.
    if len(places) <= PLACES_WRITTEN_AT_MOST:
        for receiver, answer in places_written.send_robust(sender=data_changed, places=sorted(places, key=repr)):
            if isinstance(answer, Exception):
                logger.warning("places_written: %s failed: %r", getattr(receiver, "__qualname__", receiver), answer)


def supervision_changed():
    """Move the 督办 items' version (SUPERVISION_VERSION_KEY): an item, or a project, was written."""
    _move(SUPERVISION_VERSION_KEY)


def places_key(*parts, lights=None):
    """A cache key for what `parts` give from which projects there are and where alone (PLACES_VERSION_KEY), and with
    `lights` (a region's id, or "province") the stored lights of that place (LIGHTS_VERSION_KEY): a report that turns
    no light there leaves it warm."""
    keys = [DATA_VERSION_KEY, PLACES_VERSION_KEY, *([LIGHTS_VERSION_KEY.format(lights)] if lights is not None else [])]
    return hashlib.sha256(repr((_read(keys), *parts)).encode()).hexdigest()


def supervision_key(*parts):
    """A cache key for what `parts` give from the 督办 items and the projects' places alone: keyed by the epoch and the
    items' version, so that a report leaves it warm."""
    return hashlib.sha256(repr((_read([DATA_VERSION_KEY, SUPERVISION_VERSION_KEY]), *parts)).encode()).hexdigest()


def rows_key(*parts, projects):
    """A cache key for what `parts` give from the rows of `projects` (ids) alone (PROJECT_VERSION_KEY), with the epoch:
    a write to another project leaves it. A row's missing version is set to a new one before its row is read."""
    row_keys = [PROJECT_VERSION_KEY.format(pk) for pk in projects]
    found = cache.get_many(row_keys)
    missing = {key: _fresh() for key in row_keys if key not in found}
    if missing:
        cache.set_many(missing, timeout=None)
        found.update(missing)
    rows = [found[key] for key in row_keys]
    return hashlib.sha256(repr((_read([DATA_VERSION_KEY, ROWS_VERSION_KEY]), rows, *parts)).encode()).hexdigest()


def projects_changed(projects, *, places_moved=True, lights_moved=False):
    """data_changed for the places of `projects`: ids, or a queryset of projects (or of their ids); None:
    everything. `places_moved`, `lights_moved`: as data_changed's."""
    if projects is None:
        data_changed()
        return
    if isinstance(projects, (list, set, tuple)):
        if len(projects) > REGIONS_OF_AT_MOST:
            data_changed()
            return
        projects = ids = [getattr(project, "pk", project) for project in projects]
    else:  # a queryset: its ids, unless more than PROJECTS_OF_AT_MOST
        ids = list(Project.objects.filter(pk__in=projects).order_by().values_list("pk", flat=True)
                   [: PROJECTS_OF_AT_MOST + 1])
    queryset = Project.objects.filter(pk__in=projects)
    places = list(queryset.order_by().values_list("city_id", "county_id", project_part()).distinct()[: REGIONS_OF_AT_MOST + 1])
    if len(places) > REGIONS_OF_AT_MOST:
        data_changed()
    else:
        data_changed(places=places, places_moved=places_moved, projects=ids, lights_moved=lights_moved)


def _version_keys(user):
    scope = scope_key(user) if user is not None else "all"
    if scope.startswith("region-"):
        return [DATA_VERSION_KEY, REGION_VERSION_KEY.format(scope.removeprefix("region-"))]
    return [DATA_VERSION_KEY, PROVINCE_VERSION_KEY]  # everything, a leader's 包联 projects anywhere, nothing


def scope_version(user=None, *, now=False):
    """The versions what `user` sees is computed from (None: the whole province's); `now`: as the cache has them now,
    not as this request first read them."""
    return (_read_cache if now else _read)(_version_keys(user))


def versioned_key(*parts, user=None):
    """A cache key for what `parts` (which must name everything it depends on) give at the current versions
    of `user`'s scope (None: the province's, which every write moves)."""
    return hashlib.sha256(repr((scope_version(user), *parts)).encode()).hexdigest()


def catalogue_key(*parts):
    """A cache key for what `parts` give from the catalogues, the regions and the calendar alone, not from any
    project's data (a filter form's choices, the menu): keyed by the epoch only, so a project's write leaves it
    warm."""
    return hashlib.sha256(repr((data_version(), *parts)).encode()).hexdigest()


_MISSING = object()


def cached_summary(parts, compute, *, user=None, stale=False):
    """compute() cached under `parts` and the versions of `user`'s scope, computed once however many requests ask
    for it at once while cold (computed_once). With `stale` (a dict value), a request that finds another computing
    gets the previous result at once, marked {"stale": True}, if it is at most STALE_SECONDS old: after a write, a
    dashboard seconds behind rather than a queue of waiting requests."""
    key = f"projects:summary:{versioned_key(*parts, user=user)}"
    if not stale:
        return computed_once(key, compute)
    latest = "projects:summary-latest:" + hashlib.sha256(repr(parts).encode()).hexdigest()

    def compute_and_remember():
        value = compute()
        cache.set(latest, value, timeout=STALE_SECONDS)
        return value

    def previous():
        value = cache.get(latest, _MISSING)
        return value if value is _MISSING else {**value, "stale": True}

    return computed_once(key, compute_and_remember, meanwhile=previous)


def computed_once(key, compute, *, keep=None, meanwhile=None, timeout=SUMMARY_CACHE_SECONDS):
    """The value cached under `key`; else compute() it, kept `timeout` seconds (if keep(value), when given). Asked
    for at once by several requests while cold, it is computed once: the first computes, the others wait for its
    result (polling the cache), or take meanwhile()'s answer at once when it has one (not _MISSING). A request
    waits COMPUTE_WAIT_SECONDS at most, and computes itself if the first failed, did not keep its value, or the
    cache does not answer."""
    value = cache.get(key, _MISSING)
    if value is not _MISSING:
        return value
    computing = f"{key}:computing"

    def compute_and_keep():
        value = compute()
        if keep is None or keep(value):
            cache.set(key, value, timeout=timeout)
        return value

    if cache.add(computing, 1, timeout=COMPUTE_WAIT_SECONDS):
        try:
            return compute_and_keep()
        finally:
            cache.delete(computing)
    if meanwhile is not None:
        value = meanwhile()
        if value is not _MISSING:
            return value
    deadline = time.monotonic() + COMPUTE_WAIT_SECONDS
    while time.monotonic() < deadline:
        value = cache.get(key, _MISSING)
        if value is not _MISSING:
            return value
        # Looked at before waiting: with the cache away (nothing added, nothing kept) a request computes at once.
        if cache.get(computing) is None:  # it failed or kept nothing, or the cache does not answer: compute here
            break
        time.sleep(COMPUTE_POLL_SECONDS)
    return compute_and_keep()
