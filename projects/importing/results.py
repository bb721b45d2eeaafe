"""What an import reports: rows created, updated, unchanged, passed over, and errors by row and column."""

from collections import Counter
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from projects.domain.figures import figure_text


class ImportFileError(Exception):
    """The file as a whole cannot be read as a project list (not a workbook, no header row, ...)."""


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self):
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class RowResult:
    row: int
    status: str  # created / updated / unchanged
    name: str
    changes: list = field(default_factory=list)  # (column header, old, new)


# Changed rows an import keeps with their values: what a preview lists (to_dict's row_limit). The rest
# are counted only, so that a 50,000-row list costs no more memory than this many.
KEPT_ROWS = 500


@dataclass
class ImportResult:
    year: int
    rows: list = field(default_factory=list)  # the first KEPT_ROWS created or updated rows
    tally: Counter = field(default_factory=Counter)  # rows by status
    errors: list = field(default_factory=list)
    skipped: int = 0
    unrecognized: list = field(default_factory=list)  # headings of the columns not imported
    # What the import read other than the cells say, for the preview and the command to show (issue 25):
    # the city taken from the uploader or the title, the programme from the title, approximate amounts.
    notes: list = field(default_factory=list)
    # The projects the list matched, each with its version as read (under the import's locks), and those of
    # them it writes: what a preview records and its confirm compares (`preview_record`).
    matched: dict = field(default_factory=dict)
    updating: set = field(default_factory=set)

    def add_row(self, row):
        self.tally[row.status] += 1
        if row.status != "unchanged" and len(self.rows) < KEPT_ROWS:
            self.rows.append(row)

    def clear_rows(self):
        """Nothing was written: no row counts as created or updated."""
        self.rows.clear()
        self.tally.clear()

    def count(self, status):
        return self.tally[status]

    def to_dict(self, *, row_limit=KEPT_ROWS):
        """What a preview or result page shows, to keep on the import batch (errors all, changed rows capped)."""
        return {
            "year": self.year,
            "skipped": self.skipped,
            "counts": {status: self.count(status) for status in ("created", "updated", "unchanged")},
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in self.errors],
            "unrecognized": self.unrecognized,
            "notes": self.notes,
            "changed_rows": [
                {"row": r.row, "status": r.status, "name": r.name, "changes": [[str(c) for c in change] for change in r.changes]}
                for r in self.rows
                if r.status != "unchanged"
            ][:row_limit],
        }

    def preview_record(self):
        """What a batch keeps of its preview for the confirm to compare (JSON: keys are text)."""
        return {"matched": {str(pk): version for pk, version in self.matched.items()}, "updating": sorted(self.updating)}

    @property
    def summary(self):
        return (
            f"created {self.count('created')}, updated {self.count('updated')}, unchanged {self.count('unchanged')}, "
            f"skipped {self.skipped}, errors {len(self.errors)}"
        )

    @property
    def localized_summary(self):
        """The summary for people (the plain `summary` is what commands print and scripts parse)."""
        return describe(self.to_dict(row_limit=0))


def describe(result):
    """An import's outcome in the reader's language, from what `to_dict` gave (and an import batch keeps)."""
    counts = result.get("counts", {})
    figures = {  # thousands separated, as every count people read (issue 26)
        "created": counts.get("created", 0), "updated": counts.get("updated", 0), "unchanged": counts.get("unchanged", 0),
        "skipped": result.get("skipped", 0), "errors": len(result.get("errors", ())),
    }
    return _("新增 %(created)s，更新 %(updated)s，不变 %(unchanged)s，跳过 %(skipped)s，错误 %(errors)s") % {
        name: figure_text(value) for name, value in figures.items()}


PROGRESS_EVERY = 1000


def terminal_progress(stream):
    """A progress callback drawing a bar on a terminal (None when output goes to a file or a pipe)."""
    if not stream.isatty():
        return None

    def draw(done, total):
        filled = int(30 * done / total) if total else 30
        stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}", ending="", style_func=str)
        stream.flush()

    return draw
