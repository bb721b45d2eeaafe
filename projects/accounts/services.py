"""Roles and accounts: the role groups and their permissions (kept in step with domain.access), giving a
user a role, and the account-opened mail (rendered when it is sent, through mail.delivery)."""

from django.conf import settings
from django.contrib.auth.models import Group, Permission

from projects.domain import rules
from projects.domain.access import ROLE_GROUP_NAMES, ROLE_PERMISSIONS
from projects.domain.choices import MailKind, Role
from projects.mail import delivery


def roles_sync():
    """Create one group per role holding exactly the role's permissions."""
    wanted = {perm for perms in ROLE_PERMISSIONS.values() for perm in perms}
    by_name = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.values_list("pk", "content_type__app_label", "codename")
    }
    missing = sorted(wanted - by_name.keys())
    if missing:
        raise RuntimeError(f"Permissions missing (run migrate first): {', '.join(missing)}")
    for role in Role:
        group, _created = Group.objects.get_or_create(name=ROLE_GROUP_NAMES[role])
        group.permissions.set([by_name[perm] for perm in ROLE_PERMISSIONS[role]])


def user_set_role(*, user, role):
    """Put the user in exactly one role group."""
    role_groups = Group.objects.filter(name__in=ROLE_GROUP_NAMES.values())
    user.groups.remove(*role_groups)
    if role:
        user.groups.add(Group.objects.get(name=ROLE_GROUP_NAMES[Role(role)]))
    for kept in ("_role", "_access_kept", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(kept, None)  # this user object reads its role and permissions again


def accounts_opened(users, *, enqueue):
    """Tell each new user (with an email address) their account is open, with a link to set their
    password: recorded once per user, sent by the worker like every mail (delivery.py)."""
    today = rules.today()
    rows = [
        {"user": user, "kind": MailKind.ACCOUNT_OPENED, "period_start": today, "period_end": today, "key": "account"}
        for user in users if user.email and not user.has_usable_password()
    ]
    return delivery.deliveries_record(rows, enqueue=enqueue)


@delivery.renders_mail(MailKind.ACCOUNT_OPENED)
def account_opened_render(record):
    """(subject, text, html) of the account mail, with a set-password link made when it is sent (Django's
    password-reset token: valid for PASSWORD_RESET_TIMEOUT, void once a password is set)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import translation
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = record.user
    if user.has_usable_password() or not user.is_active:
        return None  # a password was set meanwhile, or the account closed: nothing to say
    link = settings.SITE_URL + reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user),
    })
    context = {"user": user, "link": link, "site_url": settings.SITE_URL,
               "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)}
    with translation.override(settings.LANGUAGE_CODE):
        return (
            "【河北省重点项目调度平台】您的账号已开通，请设置密码",
            render_to_string("projects/mail/account_opened.txt", context),
            render_to_string("projects/mail/account_opened.html", context),
        )
