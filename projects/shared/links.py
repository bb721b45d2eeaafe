"""Links to projects' pages built by string: reverse() once for a whole list, not once a row (a map's 10,000 points,
a digest's rows)."""

from django.urls import reverse

_MARKER = "987654321"


def project_links(site=""):
    """pk -> the project's page (prefixed by `site`, e.g. settings.SITE_URL for a mail)."""
    pattern = site + reverse("project_detail", args=[_MARKER])
    return lambda pk: pattern.replace(_MARKER, str(pk))
