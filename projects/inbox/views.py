"""The inbox page (待办, issue 26) and the page after login, which sends editors, coordinators and reviewers to
their inbox and province administrators and leaders to the dashboard."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from projects.domain import rules
from projects.domain.access import is_province_wide, user_role
from projects.domain.choices import Role
from projects.inbox.reads import inbox_items, total


@login_required
def inbox(request):
    """What the user owes this month, each line a link to exactly its rows."""
    on = rules.today()
    items = inbox_items(request.user, on=on)
    return render(request, "projects/inbox.html", {
        "items": items,
        "total": total(items),
        "month": rules.reporting_month(on),
        "deadline": rules.report_deadline(rules.reporting_month(on)),
        "today": on,
    })


def lands_on_inbox(user):
    """Whether the first page after login is the inbox: for those who report or review (county editors, city
    coordinators, reviewers), not for province administrators and leaders, who keep the dashboard."""
    if is_province_wide(user) or user_role(user) in (Role.PROVINCE_ADMIN, Role.LEADER):
        return False
    return user.has_perm("projects.add_monthlyreport") or user.has_perm("projects.review_monthlyreport")


@login_required
def start(request):
    """LOGIN_REDIRECT_URL: the inbox or the dashboard by role. A login with ?next= never comes here (the
    login view follows next), but a safe ?next= given here is followed too."""
    wanted = request.GET.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure() and not settings.DEBUG):
        return redirect(wanted)
    return redirect("inbox" if lands_on_inbox(request.user) else "dashboard")
