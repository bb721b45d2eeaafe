"""The bulletins page (/bulletins/): the kept bulletins of the scopes the reader may see, newest first, each
downloadable; province and city staff generate one for a chosen month (POST). Files are served only here, to
readers who may see the bulletin's scope: another scope's answers 404 like a missing one; a county, 403."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from projects.bulletin import content, reads, services

PAGE_SIZE = 50


def _chosen(request, scopes):
    """The (scope, month) a POST asks for, or None with the reason as a message."""
    try:
        month = datetime.date.fromisoformat((request.POST.get("month") or "") + "-01")
    except ValueError:
        month = None
    if month not in reads.month_choices():
        return None
    wanted = request.POST.get("region") or str(scopes[0].pk)
    region = next((scope for scope in scopes if str(scope.pk) == wanted), None)
    return (region, month) if region is not None else None


@login_required
@require_http_methods(["GET", "POST"])
def bulletin_list(request):
    if not reads.may_read(request.user):
        raise PermissionDenied
    scopes = reads.generation_scopes(request.user)
    if request.method == "POST":
        if not scopes:
            raise PermissionDenied
        chosen = _chosen(request, scopes)
        if chosen is None:
            messages.error(request, _("请选择范围和月份。"))
        else:
            region, month = chosen
            bulletin = services.bulletin_generate(region=region, month=month, user=request.user,
                                                  language=translation.get_language())
            messages.success(request, _("已生成%(region)s %(number)s。") % {"region": region, "number": bulletin.number})
        return redirect(reverse("bulletins"))
    page = Paginator(services.kept_bulletins(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    for bulletin in page.object_list:  # the number in the reader's language (the document keeps its own)
        bulletin.label = content.bulletin_number(datetime.date(bulletin.year, bulletin.month, 1))
    return render(request, "projects/bulletin/list.html", {
        "page": page,
        "scopes": scopes,
        "months": reads.month_choices(),
        "default_month": reads.default_month(),
    })


@login_required
def bulletin_file(request, pk):
    if not reads.may_read(request.user):
        raise PermissionDenied
    bulletin = get_object_or_404(services.kept_bulletins(request.user), pk=pk)
    try:
        handle = services.bulletin_storage().open(bulletin.file_name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=services.download_name(bulletin),
                            content_type=services.DOCX_TYPE)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
