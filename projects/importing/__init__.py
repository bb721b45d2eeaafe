"""Import of provincial project lists and monthly progress workbooks (SPEC §5): read a workbook as it
really arrives, say exactly what is wrong with which row and column, and write all of it or nothing.

The import runs inside one transaction and is rolled back for a dry run, so a preview reports exactly
what applying would do — including the final check that every written project lies in the importing
user's region (the same `editable_by` rule as everywhere else).

Everything is imported on django-import-export. One module per step: reading files and cells (reading),
the library's file formats read through it (formats), finding the header and the columns (headers), the
lookup tables (catalogues), the widgets that read the list's cells (widgets), the resources of the
province's other tables (resources), the project list's resource (project_list) with its fields and
instance loader (project_fields), its bulk writes (project_writes), the imports' place locks (place_locks),
its entry point (project_import) and its downloadable template (project_template), the monthly progress
workbook's (progress), uploaded batches checked and applied here or on a worker (batches), what an import
reports (results). Nothing else in the project parses a cell.
"""

from projects.importing.batches import (
    batch_can_reconfirm,
    batch_is_stalled,
    batch_run,
    batch_run_claimed,
    batch_start,
    batches_restart,
    runs_in_background,
    stalled_batches,
)
from projects.importing.progress import import_progress, progress_template_workbook
from projects.importing.project_import import import_projects
from projects.importing.project_template import template_workbook
from projects.importing.reading import count_rows
from projects.importing.results import ImportFileError, ImportResult, describe, terminal_progress

__all__ = [
    "ImportFileError", "ImportResult", "batch_can_reconfirm", "batch_is_stalled", "batch_run", "batch_run_claimed",
    "batch_start", "batches_restart", "count_rows", "describe", "import_progress", "import_projects",
    "progress_template_workbook", "runs_in_background", "stalled_batches", "template_workbook", "terminal_progress",
]
