"""Digest subscriptions and deliveries."""

import datetime

from django.contrib import admin, messages
from django.db.models import F, Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from projects import tasks
from projects.domain import rules
from projects.domain.access import person_scope_q
from projects.mail import delivery, digests
from projects.models import DeliveryStatus, DigestDelivery, DigestSubscription, User

# --- Digests -----------------------------------------------------------------------------------------


class PersonScopedAdminMixin:
    """Subscriptions and deliveries: a user's own; all of them for the province's user managers."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(person_scope_q(request.user, prefix=""))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# The days a digest can be previewed for.
PREVIEW_FIRST_DAY, PREVIEW_LAST_DAY = datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)


@admin.register(DigestSubscription)
class DigestSubscriptionAdmin(PersonScopedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "user_region", "frequency", "is_active", "preview_link"]
    list_filter = ["frequency", "is_active"]
    list_select_related = ["user", "user__region"]
    search_fields = ["user__username", "user__email", "user__first_name"]
    filter_horizontal = ["programmes", "actions"]

    def get_urls(self):
        urls = [
            path(
                "<int:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="projects_digestsubscription_preview",
            )
        ]
        return urls + super().get_urls()

    @admin.display(description=_("所属区划"), ordering="user__region__code")
    def user_region(self, obj):
        return obj.user.region or "—"

    @admin.display(description=_("预览"))
    def preview_link(self, obj):
        url = reverse("admin:projects_digestsubscription_preview", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">{}</a>', url, _("预览"))

    def preview_view(self, request, object_id):
        """The digest this subscriber would receive for a run on ?date= (default today)."""
        subscription = self.get_queryset(request).filter(pk=object_id).first()
        if subscription is None or not self.has_view_permission(request, subscription):
            raise Http404
        try:
            run_date = datetime.date.fromisoformat(request.GET.get("date", "")) if request.GET.get("date") else rules.today()
        except ValueError:
            return HttpResponseBadRequest(_("参数 date 应为 YYYY-MM-DD 格式的日期。"))
        if not PREVIEW_FIRST_DAY <= run_date <= PREVIEW_LAST_DAY:  # a period's arithmetic stays within the calendar
            return HttpResponseBadRequest(_("参数 date 应在 %(first)s 至 %(last)s 之间。") % {
                "first": PREVIEW_FIRST_DAY.isoformat(), "last": PREVIEW_LAST_DAY.isoformat()})
        period = digests.period_for(subscription.frequency, run_date)
        subject, _text, html = digests.digest_render(subscription, period)
        banner = format_html(
            '<div style="font:14px sans-serif;background:#fff8c5;padding:8px 16px;border-bottom:1px solid #d4a72c">'
            '{}：{} · {}<form method="get" style="display:inline;margin-left:16px">'
            '<input type="date" name="date" value="{}"> <button type="submit">{}</button></form></div>',
            _("预览"), subscription.user.email, subject, run_date.isoformat(), _("按此日期预览"),
        )
        return HttpResponse(banner + html)


class UnfinishedDeliveryFilter(admin.SimpleListFilter):
    """Deliveries that need someone: failed for good, or not sent with no live attempt behind them."""

    title = _("需处理")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("stuck", _("无人处理（尝试已中断）")), ("failed", _("发送失败")), ("late", _("迟发（错过发送日后补发）"))]

    def queryset(self, request, queryset):
        if self.value() == "stuck":
            return queryset.filter(pk__in=delivery.unfinished_deliveries().values("pk"))
        if self.value() == "failed":
            return queryset.filter(status=DeliveryStatus.FAILED)
        if self.value() == "late":
            return queryset.filter(due_on__isnull=False, created_at__date__gt=F("due_on"))
        return queryset


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(PersonScopedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "kind", "period_start", "period_end", "status", "attempts", "sent_at", "late_days",
                    "lease_until", "error_short"]
    list_filter = [UnfinishedDeliveryFilter, "status", "kind", "period_start"]
    list_select_related = ["user"]
    search_fields = ["user__username", "recipient", "subject", "error"]
    readonly_fields = [field.name for field in DigestDelivery._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("错误"))
    def error_short(self, obj):
        return obj.error[:80]

    @admin.display(description=_("迟发"), ordering="due_on")
    def late_days(self, obj):
        """Recorded after its due day: its run missed the day and the catch-up made up for it."""
        if obj.due_on is None:
            return "—"
        days = (timezone.localtime(obj.created_at).date() - obj.due_on).days
        if days <= 0:
            return "—"
        return _("迟发 %(days)d 天（应于 %(day)s）") % {"days": days, "day": obj.due_on.isoformat()}

    @admin.action(description=_("重新发送（失败的和无人处理的）"), permissions=["view"])
    def send_again(self, request, queryset):
        retryable = queryset.filter(
            Q(status=DeliveryStatus.FAILED) | Q(pk__in=delivery.unfinished_deliveries().values("pk"))
        )
        queued = delivery.deliveries_requeue(list(retryable), enqueue=tasks.enqueue_delivery)
        self.message_user(
            request,
            _("已重新排队 %(queued)d 份简报；已发送或正在发送的 %(left)d 份未变。")
            % {"queued": len(queued), "left": queryset.count() - len(queued)},
            messages.SUCCESS if queued else messages.WARNING,
        )
