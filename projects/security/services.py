"""The rules of two-factor login and of the password-reset limit (issue 22)."""

import hashlib
import io
import logging
import re

import django_otp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from projects.domain.access import user_role

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
VERIFY, ENROL = "verify", "enrol"


def two_factor_required(user) -> bool:
    """Whether the user's role must log in with a second factor (the setting on, the role listed)."""
    if not settings.TWO_FACTOR_REQUIRED or not user.is_authenticated:
        return False
    role = user_role(user)
    return role is not None and role.value in settings.TWO_FACTOR_REQUIRED_ROLES


def two_factor_enrolled(user) -> bool:
    return user.is_authenticated and TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def verification_pending(user) -> str | None:
    """What stands between a logged-in user and the site: VERIFY (they enrolled and this session has not
    given a code yet), ENROL (their role must use two factors and they have no device yet), or None.

    Asked several times a request (middleware, admin site): answered once per request's user object."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_verified", None) and user.is_verified():
        return None
    if "_two_factor_pending" not in user.__dict__:
        if two_factor_enrolled(user):
            pending = VERIFY
        elif two_factor_required(user):
            pending = ENROL
        else:
            pending = None
        user.__dict__["_two_factor_pending"] = pending
    return user.__dict__["_two_factor_pending"]


def session_verify(*, request, device) -> None:
    """Mark the request's session as verified by `device` (django-otp keeps it in the session), under a
    new session key: the session has gained a privilege."""
    django_otp.login(request, device)
    request.session.cycle_key()
    request.user.__dict__.pop("_two_factor_pending", None)


def totp_enrolment_start(*, user) -> TOTPDevice:
    """The user's device waiting to be confirmed with a first code (the same one until it is), so that a
    reload shows the same QR code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=_("身份验证器"), confirmed=False)


@transaction.atomic
def totp_enrolment_confirm(*, user, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the waiting device with a code it shows: it replaces any earlier device, and new recovery
    codes (returned, to be shown once) replace the old. None when the code is wrong."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(_normalise(code)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return recovery_codes_issue(user=user)


@transaction.atomic
def recovery_codes_issue(*, user) -> list[str]:
    """RECOVERY_CODE_COUNT new single-use codes; the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=_("恢复码"), confirmed=True)
    codes = [StaticToken.random_token() for _index in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def two_factor_remove(*, user) -> None:
    """Remove the user's authenticator and recovery codes (a lost phone: an administrator does this in the
    admin; then the user enrols again at their next login)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


class CodeRefused(Exception):
    """A code that did not verify: `reason` is "wrong" or "throttled" (then `seconds` to wait)."""

    def __init__(self, reason, seconds=0):
        super().__init__(reason)
        self.reason, self.seconds = reason, seconds


def code_verify(*, user, code: str):
    """The device that accepts `code`: the authenticator for a 6-digit code, else the recovery codes (a
    recovery code is used up). Raises CodeRefused. Repeated wrong codes make each device wait longer
    before it checks again (django-otp's throttling: 1, 2, 4 … seconds)."""
    code = _normalise(code)
    with transaction.atomic():
        totp = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if totp is not None and code.isdigit() and len(code) == totp.digits:
            device = totp
        else:
            device = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            raise CodeRefused("wrong")
        allowed, info = device.verify_is_allowed()
        if not allowed:
            locked_until = (info or {}).get("locked_until")
            seconds = max(1, int((locked_until - timezone.now()).total_seconds()) + 1) if locked_until else 1
            raise CodeRefused("throttled", seconds)
        if not device.verify_token(code):
            logger.warning("two-factor code refused for user %s", user.pk)
            device = None
    if device is None:
        raise CodeRefused("wrong")
    return device


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]+", "", code or "").lower()


def totp_qr_svg(device: TOTPDevice) -> str:
    """The enrolment QR code (the otpauth:// URL) as inline SVG, drawn here: nothing is loaded from outside."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg"):]  # without the XML declaration, to sit inside the page


def totp_secret_groups(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for typing into an app that cannot scan."""
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[index:index + 4] for index in range(0, len(secret), 4))


def password_reset_allowed(*, email: str, client_ip: str | None) -> bool:
    """Count a password-reset request for this address and this client. False once either has asked more
    than its limit within PASSWORD_RESET_LIMIT_WINDOW: counted whether or not an account has the address,
    so the limit tells nothing about accounts. In the cache (Redis in production: shared by every
    process)."""
    window = settings.PASSWORD_RESET_LIMIT_WINDOW
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    counters = [(f"security:password-reset:email:{digest}", settings.PASSWORD_RESET_LIMIT_PER_EMAIL)]
    if client_ip:
        counters.append((f"security:password-reset:ip:{client_ip}", settings.PASSWORD_RESET_LIMIT_PER_IP))
    allowed = True
    for key, limit in counters:
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            count = 1
        allowed = allowed and count <= limit
    if not allowed:
        logger.warning("password reset requests over the limit (address %s…, client %s)", digest[:8], client_ip)
    return allowed


def password_reset_mail_send(*, user_id: int, language: str) -> bool:
    """Send the password-reset mail to one account (through the app's mail settings). The link is made
    now, from SITE_URL (never a request's Host header), with Django's reset token: void once the password
    changes, valid PASSWORD_RESET_TIMEOUT. False when the account is gone, closed or without an address."""
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return False
    link = settings.SITE_URL + reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user),
    })
    context = {"user": user, "link": link, "site_url": settings.SITE_URL,
               "hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600)}
    with translation.override(language):
        subject = "".join(render_to_string("security/mail/password_reset_subject.txt", context).splitlines())
        message = EmailMultiAlternatives(subject, render_to_string("security/mail/password_reset.txt", context),
                                         settings.DEFAULT_FROM_EMAIL, [user.email])
        message.attach_alternative(render_to_string("security/mail/password_reset.html", context), "text/html")
    message.send()
    return True
