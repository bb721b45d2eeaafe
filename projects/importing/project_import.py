"""The import of a provincial project list (SPEC §5): `import_projects`, the entry point that commands,
the admin and uploaded batches call. It reads the file (reading.py) into a dataset, runs it through
ProjectListResource (project_list.py) inside one transaction, rolled back for a dry run or on any error,
and returns an ImportResult with every error by sheet row and column. A confirm whose projects were
changed after its preview, and what concurrent writers leave to chance past the locks (place_locks.py),
are refused whole with a message, never a 500.
"""

from django.db import IntegrityError, OperationalError, transaction
from django.utils.translation import gettext as _

from projects.importing.place_locks import _sqlstate
from projects.importing.project_list import ProjectListResource
from projects.importing.reading import count_rows
from projects.importing.resources import sheet_dataset
from projects.importing.results import ImportFileError, RowError
from projects.shared import versions

# Projects named in a changed-since-preview refusal (the rest are counted).
STALE_NAMED = 10


# --- The import -----------------------------------------------------------------------------------------


# Errors of writers meeting at once that the locks leave possible (a project code new in two lists of
# different places, or a wait cut short): the file is refused whole, never a 500.
CONCURRENT_SQLSTATES = {"23505", "40P01", "40001", "55P03"}  # unique, deadlock, serialization, lock timeout


def _changed_projects_message(names):
    quoted = _("、").join(f"“{name}”" for name in names[:STALE_NAMED])
    if len(names) > STALE_NAMED:
        quoted = _("%(names)s等 %(count)d 个项目") % {"names": quoted, "count": len(names)}
    return _("预览之后，%(projects)s已被他人修改，本次未导入任何内容。请重新上传文件预览后再确认导入。") % {"projects": quoted}


def import_projects(data, filename, *, user, year=None, dry_run=False, progress=None, preview=None):
    """Import a project list through ProjectListResource. Returns an ImportResult (what commands print and
    previews show); nothing is written when it has errors or for a dry run.

    `preview`: a confirm's preview record (ImportResult.preview_record); if a project the file writes was
    changed since (its version moved) or the file now matches a project the preview did not, nothing is
    written and ImportFileError names them. Two imports of one place run one after the other (places_lock);
    what the locks leave to chance (a code new in two places' lists at once) is refused whole."""
    if user is not None and not user.has_perm("projects.add_project"):
        raise ImportFileError(_("您的角色不能导入项目。"))
    total = count_rows(data, filename) if progress else 0
    dataset = sheet_dataset(data, filename)
    if not len(dataset):
        raise ImportFileError(_("文件中没有数据。"))
    resource = ProjectListResource(user=user, year=year, progress=progress, total=total, preview=preview)
    try:
        with transaction.atomic():  # the whole import, so that a refusal below rolls back what it wrote
            library_result = resource.import_data(dataset, dry_run=dry_run, use_transactions=True)
            for failed in library_result.error_rows:  # not a cell's fault: a step failed; nothing is kept
                raise failed.errors[0].error
            if resource.stale:
                raise ImportFileError(_changed_projects_message(resource.stale))
    except (IntegrityError, OperationalError) as error:
        if _sqlstate(error) not in CONCURRENT_SQLSTATES:
            raise
        raise ImportFileError(
            _("其他人正在同时导入或修改本文件中的项目，本次未导入任何内容。请稍后重新上传文件预览后再确认导入。")
        ) from error
    result = resource.outcome
    for invalid in library_result.invalid_rows:
        for key, messages in invalid.error_dict.items():
            result.errors.extend(RowError(invalid.number, resource.headings.get(key, key), message)
                                 for message in messages)
    result.errors.sort(key=lambda error: error.row)
    if result.errors:
        result.clear_rows()
    elif not dry_run:
        versions.data_changed()
    return result
