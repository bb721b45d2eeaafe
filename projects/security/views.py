"""The two-factor pages (enrolment, recovery codes, verification) and the password-reset request."""

from axes.helpers import get_client_ip_address
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from projects.security import services
from projects.security.forms import CodeForm, PasswordResetForm

CODES_SESSION_KEY = "security_recovery_codes"


def _next_url(request, default="dashboard"):
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return wanted
    return reverse(default)


@login_required
@sensitive_post_parameters("code")
def two_factor_setup(request):
    """Enrolment (scan the QR code, confirm with a first code) or, for an enrolled user, the state of their
    two-factor login with new recovery codes on request."""
    user = request.user
    if services.two_factor_enrolled(user):
        if services.verification_pending(user):
            return redirect(f"{reverse('two_factor_verify')}?next={reverse('two_factor_setup')}")
        if request.method == "POST" and request.POST.get("action") == "codes":
            request.session[CODES_SESSION_KEY] = services.recovery_codes_issue(user=user)
            return redirect("two_factor_codes")
        return render(request, "security/two_factor_status.html", {
            "device": user.totpdevice_set.filter(confirmed=True).first(),
            "codes_left": services.recovery_codes_left(user),
            "required": services.two_factor_required(user),
        })
    device = services.totp_enrolment_start(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.totp_enrolment_confirm(user=user, device=device, code=form.cleaned_data["code"])
        if codes is None:
            form.add_error("code", _("验证码不正确，请核对手机时间后输入应用当前显示的 6 位数字。"))
        else:
            services.session_verify(request=request, device=device)
            request.session[CODES_SESSION_KEY] = codes
            request.session["security_next"] = _next_url(request)
            return redirect("two_factor_codes")
    return render(request, "security/two_factor_setup.html", {
        "form": form,
        "qr_svg": services.totp_qr_svg(device),
        "secret": services.totp_secret_groups(device),
        "required": services.two_factor_required(user),
        "next": _next_url(request),
    })


@login_required
def two_factor_codes(request):
    """The new recovery codes, shown once: taken out of the session as they are shown."""
    codes = request.session.pop(CODES_SESSION_KEY, None)
    if not codes:
        return redirect("two_factor_setup")
    response = render(request, "security/two_factor_codes.html", {
        "codes": codes, "next": request.session.pop("security_next", None) or reverse("dashboard"),
    })
    response["Cache-Control"] = "no-store"
    return response


@login_required
@sensitive_post_parameters("code")
def two_factor_verify(request):
    """The step after the password: a code from the authenticator or one recovery code."""
    user = request.user
    if services.verification_pending(user) != services.VERIFY:
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.code_verify(user=user, code=form.cleaned_data["code"])
        except services.CodeRefused as refused:
            if refused.reason == "throttled":
                form.add_error("code", _("尝试次数过多，请 %(seconds)s 秒后再试。") % {"seconds": refused.seconds})
            else:
                form.add_error("code", _("验证码不正确。"))
        else:
            next_url = _next_url(request)
            services.session_verify(request=request, device=device)
            if device.persistent_id.startswith("otp_static."):
                left = services.recovery_codes_left(user)
                messages.warning(request, _("您使用了一个恢复码，还剩 %(count)s 个。手机找回前请妥善保管；可在“两步验证”页生成新的恢复码。")
                                 % {"count": left})
            return redirect(next_url)
    return render(request, "security/two_factor_verify.html", {"form": form, "next": _next_url(request)})


class PasswordResetView(auth_views.PasswordResetView):
    """“忘记密码”: a mail with a link to set a new password, for every active account with the address.

    The answer is the same whether or not an account has the address; requests are limited per address
    and per client address (PASSWORD_RESET_LIMIT_*), a request over the limit sends nothing and answers 429."""

    form_class = PasswordResetForm
    template_name = "registration/password_reset_form.html"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        allowed = services.password_reset_allowed(email=form.cleaned_data["email"],
                                                  client_ip=get_client_ip_address(self.request))
        if not allowed:
            form.add_error(None, _("重置密码的请求过于频繁，请稍后再试。"))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)  # the form queues the mails (PasswordResetForm.send_mail)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"
