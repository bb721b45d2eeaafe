"""Reads of evidence for pages: the photos of reports with their warnings, and a project's documents, each
in a fixed number of queries however many rows a page shows."""

from collections import defaultdict

from django.db.models import Count

from projects.evidence.checks import photo_warnings
from projects.models import DocumentKind, MonthlyReport, ProjectDocument, ReportPhoto


def photos_with_warnings(photos):
    """Give each photo its `.warnings` (checks.photo_warnings): one query for the earlier photos of the same
    projects with the same hashes, whatever the number of photos. Photos come with their project."""
    photos = list(photos)
    if not photos:
        return photos
    seen = defaultdict(set)  # (project_id, hash) -> months with that picture
    rows = ReportPhoto.objects.filter(
        project_id__in={photo.project_id for photo in photos},
        content_hash__in={photo.content_hash for photo in photos},
    ).values_list("project_id", "content_hash", "month")
    for project_id, content_hash, month in rows:
        seen[(project_id, content_hash)].add(month)
    for photo in photos:
        earlier = {month for month in seen[(photo.project_id, photo.content_hash)] if month < photo.month}
        photo.warnings = photo_warnings(photo, project=photo.project, earlier_months=earlier)
    return photos


def _photos(**filters):
    return ReportPhoto.objects.filter(**filters).select_related("project", "uploaded_by").order_by("month", "uploaded_at", "pk")


def photo_counts(project_ids, month):
    """{project id: number of photos} of `month` for the given projects (one query): the report page's links."""
    return dict(ReportPhoto.objects.filter(project_id__in=list(project_ids), month=month).order_by()
                .values_list("project_id").annotate(count=Count("pk")))


def photos_of_month(project, month):
    """A project's photos of one month, oldest first, with their warnings (two queries)."""
    return photos_with_warnings(_photos(project=project, month=month))


def photos_by_report(report_ids):
    """{report id: [photo, ...]} for the given reports (a photo belongs to its project's report of its month),
    each photo with its `.warnings`; every report asked for has a list, maybe empty. Three queries."""
    keys = {pk: (project_id, month) for pk, project_id, month in
            MonthlyReport.objects.filter(pk__in=list(report_ids)).values_list("pk", "project_id", "month")}
    result = {pk: [] for pk in keys}
    if not keys:
        return result
    by_key = defaultdict(list)
    photos = photos_with_warnings(_photos(
        project_id__in={project_id for project_id, _month in keys.values()},
        month__in={month for _project_id, month in keys.values()},
    ))
    for photo in photos:
        by_key[(photo.project_id, photo.month)].append(photo)
    for pk, key in keys.items():
        result[pk] = by_key.get(key, [])
    return result


def documents_of(project):
    """A project's documents, newest first, with who uploaded them (one query)."""
    return list(ProjectDocument.objects.filter(project=project).select_related("uploaded_by").order_by("-uploaded_at", "-pk"))


def documents_context(project, *, can_edit):
    """What the project page's documents section (evidence/_project_documents.html) needs."""
    return {
        "documents": documents_of(project),
        "document_kinds": DocumentKind.choices,
        "can_upload_documents": can_edit,
    }
