"""What the import commands share: the importing user and the SPEC §6 output and exit status."""

import sys

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from projects.importing import ImportFileError, terminal_progress
from projects.models import User


def importing_user(username):
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"--user: no active user “{username}”")
    return user


def run_and_report(command, importer, **kwargs):
    """Run `importer` and print `created N, updated N, unchanged N, skipped N, errors N`, then one
    `row R, column C: reason` line per error; exit 1 when anything is wrong (nothing was written)."""
    try:
        result = importer(**kwargs, progress=terminal_progress(command.stderr))
    except ImportFileError as error:
        command.stdout.write("created 0, updated 0, unchanged 0, skipped 0, errors 1")
        command.stdout.write(f"file: {error}")
        sys.exit(1)
    if command.stderr.isatty():
        command.stderr.write("", style_func=str)  # end the progress bar's line
    command.stdout.write(result.summary)
    if result.unrecognized:
        # On stderr: stdout keeps the summary and error lines scripts parse (SPEC §6).
        command.stderr.write(_("未识别的列：%(columns)s，其内容不会导入") % {"columns": "、".join(result.unrecognized)})
    for note in result.notes:  # what was read other than the cells say (issue 25): on stderr too
        command.stderr.write(note)
    for error in result.errors:
        command.stdout.write(str(error))
    if result.errors:
        sys.exit(1)
