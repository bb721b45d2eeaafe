"""A session that still owes its second factor reaches only the login, verification and enrolment pages."""

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from projects.security import services

# Pages a session that owes its second factor may still open: logging in and out, the language switch,
# the password reset pages, and the verification page (the enrolment pages only while there is no
# device to verify with: a stolen password must not enrol a second authenticator).
OPEN_ALWAYS = {
    "login", "logout", "set_language", "two_factor_verify",
    "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete",
    "admin:logout",
}
OPEN_TO_ENROL = {"two_factor_setup", "two_factor_codes"}


class TwoFactorMiddleware:
    """After django-otp's OTPMiddleware: a logged-in user who enrolled, or whose role must use two factors
    (TWO_FACTOR_REQUIRED), reaches nothing but the pages above until this session gave a code. A page
    sends them to the verification (or enrolment) page and back; a session call of the API answers 403.
    A call with an API token is the machine's and is left to the API's own authentication."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        match = request.resolver_match
        name = match.view_name if match else ""
        if name in OPEN_ALWAYS:
            return None
        pending = services.verification_pending(user)
        if pending is None or (pending == services.ENROL and name in OPEN_TO_ENROL):
            return None
        if request.path_info.startswith("/api/"):
            if _has_api_token(request):
                return None
            return JsonResponse({"detail": _("请先完成两步验证。")}, status=403)
        target = reverse("two_factor_verify" if pending == services.VERIFY else "two_factor_setup")
        return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")


def _has_api_token(request):
    """`Authorization: Token …`: the API authenticates the token alone (a wrong one is refused there),
    never falling back to the session."""
    words = request.META.get("HTTP_AUTHORIZATION", "").split()
    return bool(words) and words[0].lower() == "token"
