"""Who sees what, and who may change it: the one place that decides (issue #2, item 6).

A user's *region* bounds what they see: the province sees everything, a city-level unit its own
projects (those it reports, including 雄安新区's three counties), a county its county's. A user's
*role* is their Django group, whose model permissions say what they may do there; a leader's group
holds only view permissions. Every surface (admin, pages, API, import, export, digests, autocomplete)
filters through `project_scope_q` / `region_scope_q` via the models' `visible_to(user)` methods.
"""

import secrets

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q

from projects.domain.choices import RegionLevel, Role

NOTHING = Q(pk__in=[])
# How long what a user is shown of their permissions (the menu, the admin's app list, a page's buttons) may lag a
# change of them: kept that long to spare every page their loading. Views check permissions themselves, at once.
SHOWN_PERMS_SECONDS = 600

# Group names are what administrators see in the user form; the Role value is what code uses.
ROLE_GROUP_NAMES = {
    Role.PROVINCE_ADMIN: "省级管理员",
    Role.CITY_COORDINATOR: "市级调度员",
    Role.COUNTY_EDITOR: "县级填报员",
    Role.LEADER: "领导（只读）",
}

_PROJECT_WORK = ["project", "annualplan", "monthlyreport", "problem", "milestone"]
# Supervision items change only through projects.supervision (pages), never through admin forms.
_SUPERVISION = ["supervisionitem", "supervisionstep"]
# The working-day calendar and the import's heading synonyms are reference data too: the province keeps
# them, everyone reads them.
_REFERENCE = ["region", "industry", "programme", "batch", "cluster", "workdayoverride", "headersynonym", "milestonekind"]
_ACTIONS = ["actionplan", "action", "measure", "target"]


def _perms(app, models, actions):
    return [f"{app}.{action}_{model}" for model in models for action in actions]


# Model permissions per role, as "app.codename". Region limits come on top of these.
ROLE_PERMISSIONS = {
    Role.PROVINCE_ADMIN: (
        _perms("projects", _PROJECT_WORK + _REFERENCE + ["user", "digestsubscription", "apitoken"], ["view", "add", "change", "delete"])
        + _perms("actions", _ACTIONS, ["view", "add", "change", "delete"])
        + _perms("projects", ["digestdelivery", "importbatch", "reporttransition"] + _SUPERVISION, ["view"])
        + ["projects.review_monthlyreport", "auth.view_group"]
        # The security audit trail (issue 22): read and exported by the province, written only by the app.
        + ["projects.view_auditevent"]
        # The digest and reminder schedules (周期性任务) are the province's to see and change.
        + _perms("django_celery_beat", ["periodictask", "crontabschedule", "intervalschedule"], ["view", "change"])
        + _perms("django_celery_beat", ["periodictask"], ["add", "delete"])
        # Two-factor devices (issue 22): seen and removed (a lost phone), never added or changed by others.
        + _perms("otp_totp", ["totpdevice"], ["view", "delete"])
    ),
    Role.CITY_COORDINATOR: (
        _perms("projects", _PROJECT_WORK, ["view", "add", "change", "delete"])
        + ["projects.review_monthlyreport"]
        + _perms("projects", _REFERENCE, ["view"])
        + _perms("projects", ["digestsubscription"], ["view", "add", "change", "delete"])
        + _perms("projects", ["digestdelivery", "importbatch", "reporttransition"] + _SUPERVISION, ["view"])
        + _perms("actions", _ACTIONS, ["view"])
    ),
    Role.COUNTY_EDITOR: (
        _perms("projects", ["project", "annualplan"], ["view", "add", "change"])
        + _perms("projects", ["monthlyreport", "problem", "milestone"], ["view", "add", "change", "delete"])
        + _perms("projects", _REFERENCE, ["view"])
        + _perms("projects", ["digestsubscription"], ["view", "add", "change", "delete"])
        + _perms("projects", ["digestdelivery", "importbatch", "reporttransition"] + _SUPERVISION, ["view"])
        + _perms("actions", _ACTIONS, ["view"])
    ),
    Role.LEADER: (
        _perms("projects", _PROJECT_WORK + _REFERENCE + _SUPERVISION + ["reporttransition"], ["view"])
        + _perms("projects", ["digestsubscription"], ["view", "add", "change", "delete"])
        + _perms("projects", ["digestdelivery"], ["view"])
        + _perms("actions", _ACTIONS, ["view"])
    ),
}


# Who holds which groups and permissions: moved by any change of a user's groups or permissions, of a group's
# permissions, of a group or a permission, and by a migration (access_changed, from projects.signals). A user's role
# and permissions are kept under it, so that a request reads them in one cache read, not three queries (their groups,
# their own and their groups' permissions: the API's every request), and a change holds from the next request on.
ACCESS_VERSION_KEY = "projects:access-version"
ACCESS_KEY = "projects:access:{}"
ACCESS_SECONDS = 3600  # bounds what a change made past the signals (raw SQL) could leave


def access_changed():
    """Move ACCESS_VERSION_KEY: at once, and again when the transaction commits (a request between the two read the
    groups before the change and kept them under the new version)."""
    cache.set(ACCESS_VERSION_KEY, secrets.randbits(62), timeout=None)
    if connection.in_atomic_block:
        transaction.on_commit(lambda: cache.set(ACCESS_VERSION_KEY, secrets.randbits(62), timeout=None), robust=True)


def _access_kept(user):
    """What is kept of a saved `user`'s access ({"role": …, "permissions": …}, either missing until first asked), read
    with ACCESS_VERSION_KEY in one cache read once per user object (a request's): valid while the version and what the
    user's own row says (active, superuser) are those it was kept under."""
    state = getattr(user, "_access_kept", None)
    if state is None:
        key = ACCESS_KEY.format(user.pk)
        found = cache.get_many([ACCESS_VERSION_KEY, key])
        version = found.get(ACCESS_VERSION_KEY)
        if version is None:
            cache.add(ACCESS_VERSION_KEY, secrets.randbits(62), timeout=None)
            version = cache.get(ACCESS_VERSION_KEY)
        stamp = (version, user.is_active, user.is_superuser)
        kept = found.get(key)
        held = dict(kept[1]) if kept is not None and kept[0] == stamp else {}
        state = user._access_kept = {"key": key, "stamp": stamp, "held": held}
    return state


def held_access(user, what, compute):
    """The user's `what` ("role" or "permissions"): kept (_access_kept), else compute()d and kept with the rest."""
    state = _access_kept(user)
    held = state["held"]
    if what not in held:
        held[what] = compute()
        if state["stamp"][0] is not None:  # a cache that does not answer keeps nothing
            cache.set(state["key"], (state["stamp"], held), ACCESS_SECONDS)
    return held[what]


def user_role(user):
    """The user's role, read from their groups (a superuser counts as province administrator); kept with their
    permissions under the access version (held_access), read once per user object (a request's), since every scope
    asks."""
    if not hasattr(user, "_role"):
        if user.pk is None:  # anonymous: no groups
            user._role = _role_from_groups(user)
        else:
            user._role = held_access(user, "role", lambda: _role_from_groups(user))
    return user._role


def _role_from_groups(user):
    if user.is_superuser:
        return Role.PROVINCE_ADMIN
    names = {group.name for group in user.groups.all()}
    for role in Role:  # ordered from most to least powerful
        if ROLE_GROUP_NAMES[role] in names:
            return role
    return None


def is_province_wide(user):
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or (user.region_id is not None and user.region.level == RegionLevel.PROVINCE)


def project_scope_q(user, prefix=""):
    """Q selecting the projects (at `prefix`, e.g. "project__") inside the user's region; for a leader
    also the projects they contract (包联), wherever those are."""
    if not (user.is_authenticated and user.is_active):
        return NOTHING
    if is_province_wide(user):
        return Q()
    leader = is_leader(user)
    contracted = Q(**{f"{prefix}contracting_leader_id": user.pk})
    if user.region_id is None:
        return contracted if leader else NOTHING
    # A city-level unit owns the projects it reports, a county its own. One column each, so that an index
    # serves the scope: a county's projects always carry the unit it reports to as their city (Project.clean
    # and the import set it), so a city-level unit (定州 and 辛集 too) needs only city_id.
    field = "city_id" if user.region.is_city_level else "county_id"
    own = Q(**{f"{prefix}{field}": user.region_id})
    return own | contracted if leader else own


def is_leader(user):
    return user_role(user) == Role.LEADER


def scope_key(user):
    """A name for the set of projects `project_scope_q` gives this user: users with the same key see the
    same projects, so what is computed over them may be shared (e.g. cached dashboard figures)."""
    if not (user.is_authenticated and user.is_active):
        return "none"
    if is_province_wide(user):
        return "all"
    if is_leader(user):
        return f"leader-{user.pk}"  # their region's projects and those they contract
    return f"region-{user.region_id}" if user.region_id else "none"


def region_scope_q(user, prefix=""):
    """Q selecting the regions (at `prefix`, e.g. "county__") a user sees: their region, its counties
    and, for a county, the city-level unit it reports to, so that their forms can show their own city."""
    if not (user.is_authenticated and user.is_active):
        return NOTHING
    if is_province_wide(user):
        return Q()
    region = user.region
    if region is None:
        return NOTHING
    own = Q(**{f"{prefix}pk": region.pk}) | Q(**{f"{prefix}reporting_city_id": region.pk})
    if region.level == RegionLevel.COUNTY and region.reporting_city_id:
        own |= Q(**{f"{prefix}pk": region.reporting_city_id})
    return own


def person_scope_q(user, prefix="user__"):
    """Q selecting a user's digest subscriptions and deliveries: their own; all for user managers."""
    if not (user.is_authenticated and user.is_active):
        return NOTHING
    if user.has_perm("projects.change_user") and is_province_wide(user):
        return Q()
    return Q(**{f"{prefix}pk": user.pk})


def review_scope_q(user, project_prefix="project__", *, may_review=None):
    """Q selecting the monthly reports (or, with project_prefix="", the projects) whose review (审核)
    falls to this user.

    A city-level unit reviews what its counties report; the province reviews what no county reports:
    city-wide projects, and 定州/辛集, which report for themselves (their projects' county is their city).
    Each report has exactly one reviewing level (province_reviews_q); a user needs the review permission besides
    (`may_review`: whether they hold it, when the caller read it).
    """
    level = review_level(user, may_review=may_review)
    if level == "province":
        return province_reviews_q(project_prefix)
    if level == "city":
        return _county_reported_q(project_prefix) & Q(**{f"{project_prefix}city_id": user.region.pk})
    return NOTHING


def review_level(user, *, may_review=None):
    """Which reports' review falls to `user` (review_scope_q): "province" (those province_reviews_q selects), "city"
    (the others of its city), or None (none)."""
    if may_review is None:
        may_review = user.has_perm("projects.review_monthlyreport")
    if not (user.is_authenticated and user.is_active and may_review):
        return None
    if is_province_wide(user):
        return "province"
    region = user.region
    return "city" if region is not None and region.is_city_level else None


def province_reviews_q(project_prefix="project__"):
    """Q selecting the reports (or, with project_prefix="", the projects) the province reviews: those no county
    reports, city-wide projects and those of 定州/辛集 (their county is their city); a city reviews the rest."""
    return ~_county_reported_q(project_prefix)


def _county_reported_q(project_prefix):
    county = f"{project_prefix}county"
    return Q(**{f"{county}__isnull": False}) & ~Q(**{f"{county}_id": F(f"{project_prefix}city_id")})


def can_edit_projects(user):
    return user.has_perm("projects.change_project")


def may_audit(user):
    """Whether the user reads the security audit trail: a province administrator (or a superuser) only —
    not a leader, though province-wide, nor any city or county (issue 22)."""
    return (
        user.is_authenticated and user.is_active and is_province_wide(user)
        and user_role(user) == Role.PROVINCE_ADMIN and user.has_perm("projects.view_auditevent")
    )


# --- Contact phone numbers (issue 22): in full only for those who may edit the project ------------------


def may_edit_project(user, project):
    """Whether the user may edit this project (Project.objects.editable_by: their region, an editing role)."""
    return type(project).objects.editable_by(user).filter(pk=project.pk).exists()


def phone_masked(phone):
    """A number with its middle hidden, as Chinese sites show one: 138****5678 (the first three and the last
    four characters kept); a number too short to keep anything of it is hidden whole."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


def phone_is_masked(text):
    """Whether a cell holds a masked number as phone_masked writes it (an import keeps the stored number)."""
    return "****" in (text or "")


def phone_shown(phone, *, may_edit):
    """What a surface shows of a project's contact number: the number to people who may edit the project,
    the mask to everyone else who sees it. Every surface (project page and history, API, export, admin)
    goes through here."""
    return (phone or "") if may_edit else phone_masked(phone)
