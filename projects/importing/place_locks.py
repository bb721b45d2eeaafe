"""The project list imports' place locks (SPEC §5): before it matches a row, an import takes a PostgreSQL
advisory lock per place its rows name (a county, or a city for its own projects), so that two imports of
one place run one after the other and overlapping lists never make a project twice. ProjectListResource's
`_lock` (project_list.py) takes them, before the project rows' own locks (locks.py); an import kept
waiting longer than PLACE_LOCK_WAIT_SECONDS is refused whole. `_sqlstate` reads the SQLSTATE of a
database error, here and for the import's refusals (project_import.py).
"""

import time

from django.db import OperationalError, connection
from django.utils.translation import gettext as _

from projects.importing.results import ImportFileError

# The imports of one place (a county, or a city for its own projects) run one after the other: each takes,
# on PostgreSQL, a transaction-level advisory lock per place its rows name, in this key space, by region id
# ascending, before it matches a row. Waiting longer than this for another import's places refuses the file.
PLACE_LOCK_SPACE = 0x48424950  # "HBIP"
PLACE_LOCK_WAIT_SECONDS = 60


def places_lock(region_ids):
    """Take the imports' place locks (PostgreSQL advisory locks, held until the transaction ends), by
    region id ascending; refuse the file when other imports keep them for longer than
    PLACE_LOCK_WAIT_SECONDS in all. Only imports take them: they order imports among themselves, and
    come before every row lock."""
    deadline = time.monotonic() + PLACE_LOCK_WAIT_SECONDS
    busy = ImportFileError(_("另一个导入正在写入同一地区的项目，本文件未导入任何内容。请稍后再试。"))
    restore = None
    with connection.cursor() as cursor:
        try:
            for region_id in sorted(region_ids):
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [PLACE_LOCK_SPACE, region_id])
                if cursor.fetchone()[0]:
                    continue
                remaining = deadline - time.monotonic()  # another import holds it: wait, within the limit
                if remaining <= 0:
                    raise busy
                if restore is None:
                    cursor.execute("SELECT current_setting('lock_timeout')")
                    (restore,) = cursor.fetchone()
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(remaining * 1000) + 1}ms"])
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PLACE_LOCK_SPACE, region_id])
        except OperationalError as error:
            if _sqlstate(error) != "55P03":  # lock_not_available: the wait ran out
                raise
            raise busy from error
        if restore is not None:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [restore])


def _sqlstate(error):
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
