"""Users and role groups."""


from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from ..access import ROLE_GROUP_NAMES
from ..models import DigestSubscription, User

# --- Users -------------------------------------------------------------------------------------------


class DigestSubscriptionInline(admin.TabularInline):
    model = DigestSubscription
    extra = 0
    filter_horizontal = ["programmes", "actions"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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
        return super().get_queryset(request).prefetch_related("groups")

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
