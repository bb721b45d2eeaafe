"""The forms of sign-in security: a second-factor code, and the password reset request that queues its mail."""

import logging

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from projects.security import services, tasks

logger = logging.getLogger(__name__)


class CodeForm(forms.Form):
    """A code from the authenticator app (6 digits) or one recovery code."""

    code = forms.CharField(
        label=_("验证码"),
        max_length=32,
        widget=forms.TextInput(attrs={
            "autocomplete": "one-time-code", "inputmode": "text", "autofocus": True, "autocapitalize": "off",
            "spellcheck": "false",
        }),
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, for every active account with the address: also one whose password was never
    set (a new account whose set-password mail was lost or expired), since the link sets it."""

    email = forms.EmailField(
        label=_("电子邮箱"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def get_users(self, email):
        model = get_user_model()
        field = model.get_email_field_name()
        candidates = model._default_manager.filter(**{f"{field}__iexact": email, "is_active": True})
        # As Django's own: the address compared again without case folding tricks (Unicode look-alikes).
        return (user for user in candidates
                if auth_forms._unicode_ci_compare(email, getattr(user, field)))

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        """Queue the mail for a worker (services.password_reset_mail_send renders and sends it); with the
        broker unreachable, send it here rather than lose it. Either way a failure is logged, never shown:
        the page answers the same for every address."""
        kwargs = {"user_id": context["user"].pk, "language": translation.get_language()}
        try:
            tasks.password_reset_mail.delay(**kwargs)
        except Exception as error:  # the broker is down
            logger.error("could not queue the password reset mail of user %s: %s", kwargs["user_id"], error)
            try:
                services.password_reset_mail_send(**kwargs)
            except Exception:
                logger.exception("password reset mail to user %s not sent", kwargs["user_id"])
