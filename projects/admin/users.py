"""Users, role groups and API tokens."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from projects import tasks
from projects.admin.transfer import TableTransferMixin
from projects.domain.access import ROLE_GROUP_NAMES
from projects.importing.resources import UserResource
from projects.models import ApiToken, DigestSubscription, User

# --- Users -------------------------------------------------------------------------------------------


def superusers_hidden(users, actor, prefix=""):
    """The accounts `actor` may see and act on: a superuser's only when `actor` is one."""
    return users if actor.is_superuser else users.exclude(**{f"{prefix}is_superuser": True})


class DigestSubscriptionInline(admin.TabularInline):
    model = DigestSubscription
    extra = 0
    filter_horizontal = ["programmes", "actions"]


@admin.register(User)
class UserAdmin(TableTransferMixin, DjangoUserAdmin):
    """Accounts one by one, or many at once from a list (username, name or unit, email, phone, region,
    role): new accounts get a mail with a link to set their password."""

    resource_classes = [UserResource]
    list_display = ["username", "last_name", "first_name", "email", "region", "role_display", "is_active"]
    list_filter = ["is_active", "groups", "region__level"]
    list_select_related = ["region"]
    search_fields = ["username", "first_name", "last_name", "email", "region__name"]
    autocomplete_fields = ["region"]
    inlines = [DigestSubscriptionInline]
    superuser_fieldset = (_("超级用户"), {"fields": ["is_superuser", "user_permissions"], "classes": ["collapse"]})
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("个人信息"), {"fields": ["last_name", "first_name", "email", "phone"]}),
        (_("区划与角色"), {"fields": ["region", "is_active", "groups"]}),
        superuser_fieldset,
        (_("重要日期"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "password1", "password2", "region", "groups", "email"]}),
    ]

    def get_queryset(self, request):
        # Only a superuser acts on a superuser: for everyone else they are not there (their change,
        # password, history and delete pages answer as a missing account; bulk actions cannot reach them).
        return superusers_hidden(super().get_queryset(request).prefetch_related("groups"), request.user)

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "enqueue": tasks.enqueue_delivery}

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not request.user.is_superuser:
            # Only a superuser may make superusers or grant permissions outside the roles.
            fieldsets = [fieldset for fieldset in fieldsets if fieldset is not self.superuser_fieldset]
        return fieldsets

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=ROLE_GROUP_NAMES.values())
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        obj.is_staff = True  # every user of this tracker works in the admin
        super().save_model(request, obj, form, change)

    @admin.display(description=_("角色"))
    def role_display(self, obj):
        role = obj.role
        return role.label if role else "—"


if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    filter_horizontal = ["permissions"]

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


# --- API tokens --------------------------------------------------------------------------------------


class ApiTokenForm(forms.ModelForm):
    valid_days = forms.IntegerField(
        label=_("有效天数"), min_value=1, max_value=3650, initial=365,
        help_text=_("到期后令牌失效；需要时重新签发。"),
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name", "read_only"]
        labels = {"user": _("用户")}  # knox's field has no verbose name


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued here (shown once, then only their digest is kept) and revoked by deleting them."""

    form = ApiTokenForm
    list_display = ["name", "user", "read_only", "token_key", "created", "expiry"]
    list_filter = ["read_only"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "token_key"]
    autocomplete_fields = ["user"]

    def has_change_permission(self, request, obj=None):
        return False  # a token is issued or revoked, never edited

    def get_queryset(self, request):
        return superusers_hidden(super().get_queryset(request), request.user, prefix="user__")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = superusers_hidden(User.objects.all(), request.user)  # no token to act as a superuser
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_fields(self, request, obj=None):
        return ["user", "name", "read_only", "valid_days"] if obj is None else ["user", "name", "read_only", "token_key", "created", "expiry"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["user", "name", "read_only", "token_key", "created", "expiry"]

    def save_model(self, request, obj, form, change):
        from knox.models import get_digest_token
        from knox.settings import CONSTANTS

        digest, token = get_digest_token()
        obj.digest, obj.token_key = digest, token[: CONSTANTS.TOKEN_KEY_LENGTH]
        obj.expiry = timezone.now() + datetime.timedelta(days=form.cleaned_data["valid_days"])
        super().save_model(request, obj, form, change)
        self.message_user(
            request,
            format_html(_("令牌已签发，只显示这一次，请立即交给调用方：{}"), format_html("<code>{}</code>", token)),
            messages.WARNING,
        )
