"""The floors' plain SQL: the rows a list page or an API list shows, read with one hand-written query (two for
a deep page: its keys, then its rows) — no ORM, FilterSet, cache or template — so that a page's cost can be
set against the cost of its data alone. Served by bench/urls.py; the benches check, before timing, that
these are the very rows the page shows, in the same order. PostgreSQL's SQL (= ANY(array)).

Parameters (a query string): scope=all|city:<id>|county:<id> (the user's scope: the province, a city-level
unit's city_id, a county's county_id, as projects.domain.access puts it); light=red|yellow|green (the stored
light of today, which the list reads while it is fresh); q=<text> (the search: any of ProjectFilterSet.SEARCH_FIELDS
contains it, as the trigram indexes serve it); sort=<ProjectFilterSet's sort, "-" for descending>; page=<n> (50 rows a
page); columns=admin (the admin changelist's columns: no late-nodes column); for the API size=<n> (rows of its first
page, by id).

The dashboard's floor is its own SQL over the user's whole scope, in one pass (dashboard_rows): the queries the ORM
writes for its figures, recorded once, then executed as plain SQL, with no piece, cache, merge or template.
"""

from django.db import connection

from projects.domain import rules
from projects.domain.choices import Light

LIST_PAGE_SIZE = 50  # projects.pages.project_list.LIST_PAGE_SIZE
DEEP_FROM = 1000  # from this many rows in, the keys first (as CachedCountPaginator does), then the rows

# ProjectFilterSet's `sort` parameter → the same order in SQL: the column, then the default order
# (PROJECT_ORDER: city_code, county_code, name, id) among equals, the whole order reversed for "-column".
PLAN_JOIN = "LEFT JOIN projects_annualplan ap ON ap.project_id = p.id AND ap.year = %(year)s"
COMPLETED = "COALESCE(ap.completed_investment, 0)"
RATE = f"CASE WHEN ap.planned_investment > 0 THEN {COMPLETED} * 100 / ap.planned_investment END"
DEFAULT_ORDER = ["p.city_code", "p.county_code", "p.name", "p.id"]
SORTS = {
    "": [],
    "code": ["p.code"],
    "name": ["p.name"],
    "city": ["p.city_code"],
    "county": ["p.county_code"],
    "stage": ["p.stage"],
    "total_investment": ["p.total_investment"],
    "plan": ["ap.planned_investment"],
    "completed": [COMPLETED],
    "rate": [RATE],
    "light": ["p.current_light_reason"],
}

# The columns of a row, as the admin's changelist shows them; the list page's add the late-nodes column as the page
# reads it (lights._ExistsPerRow): a scalar subquery, probed for the page's rows alone. A bare EXISTS column is planned
# as a hashed subplan over every late node of the province (20-40 ms for a city's page), which made the floor slower
# than the page it is set against.
ADMIN_COLUMNS = f"""
    p.id, p.key, p.code, p.name, city.name, county.name, p.stage, p.total_investment, ap.planned_investment,
    {COMPLETED}, {RATE}, p.current_light_reason"""
LIST_COLUMNS = ADMIN_COLUMNS + """,
    (SELECT EXISTS (SELECT 1 FROM projects_milestone m
                    WHERE m.project_id = p.id AND m.planned_on < %(today)s AND m.actual_on IS NULL))
"""
SEARCH_COLUMNS = ("code", "key", "name", "owner", "investor")  # ProjectFilterSet.SEARCH_FIELDS
LIST_JOINS = f"""
    JOIN projects_region city ON city.id = p.city_id
    LEFT JOIN projects_region county ON county.id = p.county_id
    {PLAN_JOIN}
"""


def _where(params, values):
    """The WHERE clause of `params`' scope and light filter."""
    clauses = []
    scope = params.get("scope", "all")
    if scope != "all":
        column, region = scope.split(":")
        if column not in ("city", "county"):
            raise ValueError(f"scope {scope!r}")
        clauses.append(f"p.{column}_id = %(region)s")
        values["region"] = int(region)
    search = params.get("q")
    if search:
        clauses.append("(" + " OR ".join(f'UPPER(p."{column}"::text) LIKE %(q)s' for column in SEARCH_COLUMNS) + ")")
        values["q"] = f"%{search.upper()}%"
    light = params.get("light")
    if light:
        reasons = rules.reasons_for(Light(light))
        names = [f"reason{index}" for index in range(len(reasons))]
        clauses.append(f"p.current_light_reason IN ({', '.join(f'%({name})s' for name in names)})")
        values.update(zip(names, reasons))
    return " AND ".join(clauses) or "TRUE"


def _order(sort):
    descending = sort.startswith("-")
    named = SORTS[sort.lstrip("-")]
    expressions = named + [column for column in DEFAULT_ORDER if column not in named]
    return ", ".join(f"{expression}{' DESC' if descending else ''}" for expression in expressions)


def list_rows(params):
    """The list page's rows for `params`, as tuples (id first), in the page's order."""
    today = rules.today()
    values = {"year": today.year, "today": today}
    where, order = _where(params, values), _order(params.get("sort", ""))
    offset = (int(params.get("page", 1)) - 1) * LIST_PAGE_SIZE
    values.update(limit=LIST_PAGE_SIZE, offset=offset)
    columns = ADMIN_COLUMNS if params.get("columns") == "admin" else LIST_COLUMNS
    with connection.cursor() as cursor:
        if offset < DEEP_FROM:
            cursor.execute(f"SELECT {columns} FROM projects_project p {LIST_JOINS} WHERE {where} "
                           f"ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s", values)
            return [list(row) for row in cursor.fetchall()]
        cursor.execute(f"SELECT p.id FROM projects_project p {PLAN_JOIN} WHERE {where} ORDER BY {order} "
                       f"LIMIT %(limit)s OFFSET %(offset)s", values)
        keys = [key for (key,) in cursor.fetchall()]
        if not keys:
            return []
        values["keys"] = keys
        cursor.execute(f"SELECT {columns} FROM projects_project p {LIST_JOINS} WHERE p.id = ANY(%(keys)s)", values)
        rows = {row[0]: list(row) for row in cursor.fetchall()}
    return [rows[key] for key in keys]


def api_rows(params):
    """The API list's first page for `params` (by id, `size` rows): each project's columns, its regions,
    batch and industry, its plan of the year, its programmes and actions — three queries."""
    today = rules.today()
    values = {"year": today.year, "limit": int(params.get("size", 100))}
    where = _where(params, values)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT p.id, p.key, p.code, p.name, p.stage, p.status, city.id AS city_id, city.code AS city_code,
                   city.name AS city_name, county.id AS county_id, county.code AS county_code,
                   county.name AS county_name, batch.name AS batch, industry.name AS industry, p.owner, p.total_investment,
                   p.start_year, p.end_year, p.planned_start, p.planned_end, p.actual_start, p.actual_end,
                   p.last_report_month, ap.planned_investment, ap.completed_before_year, {COMPLETED} AS completed_year,
                   {RATE} AS completion_rate,
                   p.current_light_reason, p.version
            FROM projects_project p
            JOIN projects_region city ON city.id = p.city_id
            LEFT JOIN projects_region county ON county.id = p.county_id
            LEFT JOIN projects_batch batch ON batch.id = p.batch_id
            LEFT JOIN projects_industry industry ON industry.id = p.industry_id
            {PLAN_JOIN}
            WHERE {where} ORDER BY p.id LIMIT %(limit)s""", values)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row)) | {"programmes": [], "actions": []} for row in cursor.fetchall()]
        if not rows:
            return []
        by_id = {row["id"]: row for row in rows}
        keys = {"keys": list(by_id)}
        cursor.execute("""
            SELECT link.project_id, programme.name FROM projects_project_programmes link
            JOIN projects_programme programme ON programme.id = link.programme_id
            WHERE link.project_id = ANY(%(keys)s) ORDER BY link.id""", keys)
        for project, name in cursor.fetchall():
            by_id[project]["programmes"].append(name)
        cursor.execute("""
            SELECT link.project_id, action.id, plan.code, action.number, action.name FROM projects_project_actions link
            JOIN actions_action action ON action.id = link.action_id
            JOIN actions_actionplan plan ON plan.id = action.plan_id
            WHERE link.project_id = ANY(%(keys)s) ORDER BY link.id""", keys)
        for project, *action in cursor.fetchall():
            by_id[project]["actions"].append(action)
    return rows


_DASHBOARD_SQL = {}


def dashboard_sql(user):
    """The SQL of the dashboard's figures over `user`'s whole scope (this year, the primary plan, no filter): the queries
    summaries._dashboard_rows runs when it sums a scope in one pass, as the ORM writes them, recorded once a user and a
    day (the late nodes, the month and the lights depend on it)."""
    from django.test.utils import CaptureQueriesContext

    from projects.shared import summaries
    from projects.shared.scopes import action_plans, scope_filterset

    on = rules.today()
    key = (user.pk, on)
    if key not in _DASHBOARD_SQL:
        filterset, year = scope_filterset(user, {})
        if not filterset.is_valid():
            raise ValueError(filterset.errors)
        _plans, plan = action_plans()
        with CaptureQueriesContext(connection) as captured:
            summaries._dashboard_rows(filterset.qs, plan=plan, year=year, on=on, month=rules.reporting_month(on))
        _DASHBOARD_SQL[key] = [query["sql"] for query in captured.captured_queries]
    return _DASHBOARD_SQL[key]


def dashboard_rows(user):
    """Run the dashboard's SQL over `user`'s scope (dashboard_sql); returns (queries, rows read back)."""
    queries, rows = dashboard_sql(user), 0
    with connection.cursor() as cursor:
        for sql in queries:
            cursor.execute(sql)
            rows += len(cursor.fetchall())
    return len(queries), rows
