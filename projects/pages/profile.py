"""The profile page: a user's own digest subscriptions and the digests sent to them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from projects.mail import digests
from projects.models import DigestDelivery
from projects.pages.forms import SubscriptionForm


@login_required
def profile(request):
    """The user's own digest subscriptions and what was sent to them."""
    user = request.user
    active = list(user.digest_subscriptions.filter(is_active=True).prefetch_related("programmes", "actions"))
    if request.method == "POST":
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            digests.subscriptions_set(
                user=user,
                frequencies=form.cleaned_data["frequencies"],
                programmes=form.cleaned_data["programmes"],
                actions=form.cleaned_data["actions"],
            )
            messages.success(request, _("简报订阅已保存。"))
            return redirect("profile")
    else:
        first = active[0] if active else None
        form = SubscriptionForm(
            initial={
                "frequencies": [s.frequency for s in active],
                "programmes": list(first.programmes.all()) if first else [],
                "actions": list(first.actions.all()) if first else [],
            }
        )
    deliveries = DigestDelivery.objects.filter(user=user).order_by("-period_start")[:12]
    return render(request, "projects/profile.html", {"form": form, "deliveries": deliveries, "has_email": bool(user.email)})
