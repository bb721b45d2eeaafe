"""What the audit trail listens to: Django's login signals and django-axes' lockout, and the models whose
changes are security events whichever path makes them (a page, the admin, an import, the shell):
passwords and roles on User, API tokens. Exports and import confirms call services directly."""

from axes.signals import user_locked_out
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from projects.audit.services import audit_record
from projects.domain.access import ROLE_GROUP_NAMES
from projects.domain.choices import Role
from projects.models import ApiToken, AuditEvent, User

Code = AuditEvent.Code

# --- Logins --------------------------------------------------------------------------------------------


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    audit_record(code=Code.LOGIN, request=request, actor=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username") or "")[:150]
    audit_record(code=Code.LOGIN_FAILED, request=request, actor=None, username=username, params={"username": username})


@receiver(user_locked_out)
def _locked_out(sender, request, username, ip_address, **kwargs):
    username = str(username or "")[:150]
    audit_record(code=Code.LOCKED_OUT, request=request, actor=None, username=username, params={"username": username})


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    audit_record(code=Code.LOGOUT, request=request, actor=user if user is not None and user.is_authenticated else None)


# --- Passwords: every save that sets one (own change, reset link, the admin's form) -------------------


@receiver(pre_save, sender=User)
def _password_before_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance._state.adding or (update_fields is not None and "password" not in update_fields):
        return
    if instance._password is not None:  # set_password() since the last save (a rehash on login clears it)
        instance._audit_password_changed = True
    elif update_fields is None:  # set_unusable_password(), or a hash written directly
        stored = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
        instance._audit_password_changed = stored is not None and stored != instance.password


@receiver(post_save, sender=User)
def _password_saved(sender, instance, raw=False, **kwargs):
    if instance.__dict__.pop("_audit_password_changed", False):
        audit_record(code=Code.PASSWORD_CHANGED, target=instance,
                     params={"user": instance.get_username(), "unusable": not instance.has_usable_password()})


# --- Roles: one event per change, however many group writes make it ----------------------------------


def _group_role(user):
    """The strongest role among the user's groups, read from the database (not a cached role)."""
    names = set(Group.objects.filter(user__pk=user.pk).values_list("name", flat=True))
    return next((role.value for role in Role if ROLE_GROUP_NAMES[role] in names), "")


@receiver(m2m_changed, sender=User.groups.through)
def _groups_changed(sender, instance, action, reverse, **kwargs):
    """A change of role is written as a remove then an add (user_set_role, the admin's groups.set): the
    role before the first write is kept on the user object and one event carries before → after; it is
    updated by the add that follows, and removed if the writes end where they began."""
    if reverse or action not in ("pre_add", "pre_remove", "pre_clear", "post_add", "post_remove", "post_clear"):
        return  # groups edited from the group's side: only by superusers, in the role-group admin
    if action.startswith("pre_"):
        if "_audit_role_before" not in instance.__dict__:
            instance._audit_role_before = _group_role(instance)
        return
    before, after = instance.__dict__.get("_audit_role_before", ""), _group_role(instance)
    event = instance.__dict__.get("_audit_role_event")
    if event is not None:
        if after == before:
            event.delete()
            instance._audit_role_event = None
        else:
            event.params["after"] = after
            event.save(update_fields=["params"])
    elif after != before:
        instance._audit_role_event = audit_record(
            code=Code.ROLE_CHANGED, target=instance, params={"user": instance.get_username(), "before": before, "after": after})
    if action == "post_add":  # the last write of a change
        for name in ("_audit_role_before", "_audit_role_event"):
            instance.__dict__.pop(name, None)


# --- API tokens --------------------------------------------------------------------------------------


def _token_params(token):
    # Never the digest nor the key prefix: the trail names a token by its owner and purpose.
    return {"user": token.user.get_username(), "name": token.name, "read_only": token.read_only,
            "expiry": timezone.localtime(token.expiry).strftime("%Y-%m-%d %H:%M") if token.expiry else ""}


@receiver(post_save, sender=ApiToken)
def _token_issued(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        audit_record(code=Code.TOKEN_ISSUED, target=instance.user, params=_token_params(instance))


@receiver(post_delete, sender=ApiToken)
def _token_removed(sender, instance, **kwargs):
    expired = instance.expiry is not None and instance.expiry <= timezone.now()  # knox removes a token past its expiry
    audit_record(code=Code.TOKEN_EXPIRED if expired else Code.TOKEN_REVOKED, target=instance.user,
                 params=_token_params(instance))
