"""The evidence pages and the only way evidence files are served (issue 26).

Every file answers only to a signed-in user who may see its project (`visible_to`); another region's file
answers 404 exactly like a missing one. There is no public media URL. Uploads need the right to edit the
project (a read-only leader sees, never uploads)."""

import datetime
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from projects.evidence import reads, services
from projects.models import MonthlyReport, Project, ProjectDocument, ReportPhoto

MONTH_RE = re.compile(r"(\d{4})-(\d{2})")
# What a served file may do in a browser: nothing (no script, no plugin, no navigation), whatever it is.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _month(text):
    match = MONTH_RE.fullmatch(text or "")
    if not match:
        raise Http404
    try:
        return datetime.date(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise Http404 from None


def _errors(error):
    return [str(message) for message in error.messages]


@login_required
@require_http_methods(["GET", "POST"])
def report_photos(request, project_pk, month):
    """A project's site photos for a month, with their warnings (GET); those who may edit the project
    upload more (POST, from a phone's camera too), each file accepted or refused with its reason."""
    month = _month(month)
    project = get_object_or_404(Project.objects.visible_to(request.user).select_related("city", "county"), pk=project_pk)
    can_upload = Project.objects.editable_by(request.user).filter(pk=project.pk).exists()
    if request.method == "POST":
        if not can_upload:
            raise PermissionDenied
        uploads = request.FILES.getlist("photos")
        if not uploads:
            messages.error(request, _("请选择要上传的照片"))
        accepted = 0
        for upload in uploads:
            try:
                services.photo_upload(user=request.user, project=project, month=month, upload=upload)
                accepted += 1
            except ValidationError as error:
                for message in _errors(error):
                    messages.error(request, message)
        if accepted:
            messages.success(request, _("已上传 %(count)d 张照片。") % {"count": accepted})
        return redirect(reverse("report_photos", args=[project.pk, f"{month:%Y-%m}"]))
    report = MonthlyReport.objects.filter(project=project, month=month).first()
    photos = reads.photos_of_month(project, month)
    return render(request, "projects/evidence/report_photos.html", {
        "project": project, "month": month, "report": report, "photos": photos, "can_upload": can_upload,
        "warning_count": sum(len(photo.warnings) for photo in photos),
    })


@login_required
@require_POST
def project_documents(request, pk):
    """Upload a document to a project (those who may edit it); back to the project page's documents."""
    project = get_object_or_404(Project.objects.visible_to(request.user), pk=pk)
    if not Project.objects.editable_by(request.user).filter(pk=project.pk).exists():
        raise PermissionDenied
    upload = request.FILES.get("document")
    if upload is None:
        messages.error(request, _("请选择要上传的文件"))
    else:
        try:
            services.document_upload(user=request.user, project=project, kind=request.POST.get("kind", ""), upload=upload)
            messages.success(request, _("已上传文件“%(name)s”。") % {"name": upload.name})
        except ValidationError as error:
            for message in _errors(error):
                messages.error(request, message)
    return redirect(reverse("project_detail", args=[project.pk]) + "#documents")


def _serve(name, *, content_type, filename, attachment):
    try:
        handle = services.evidence_storage().open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type, as_attachment=attachment, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def photo_file(request, pk):
    """A photo (re-encoded, without EXIF), for those who may see its project."""
    photo = get_object_or_404(ReportPhoto.objects.visible_to(request.user), pk=pk)
    return _serve(photo.file_name, content_type="image/jpeg", filename=f"photo-{photo.pk}.jpg", attachment=False)


@login_required
def photo_thumbnail(request, pk):
    photo = get_object_or_404(ReportPhoto.objects.visible_to(request.user), pk=pk)
    return _serve(photo.thumbnail_name, content_type="image/jpeg", filename=f"photo-{photo.pk}-thumb.jpg", attachment=False)


@login_required
def document_file(request, pk):
    """A project's document: images shown, anything else downloaded (never rendered by the browser here)."""
    document = get_object_or_404(ProjectDocument.objects.visible_to(request.user), pk=pk)
    inline = document.content_type.startswith("image/")
    return _serve(document.file_name, content_type=document.content_type, filename=document.original_name,
                  attachment=not inline)
