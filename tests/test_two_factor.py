"""Two-factor login (issue 22, "Controls of a level-3 system"): TOTP with django-otp for province
administrators and city coordinators when TWO_FACTOR_REQUIRED is on, optional for the other roles, with
single-use recovery codes; the site's pages, the admin and session calls of the API all wait for the
code, an API token does not."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from projects.domain.choices import Role
from projects.models import ApiToken
from projects.security import services

from .conftest import PROVINCE, make_user

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def required(settings):
    settings.TWO_FACTOR_REQUIRED = True
    settings.TWO_FACTOR_REQUIRED_ROLES = ["province_admin", "city_coordinator"]
    return settings


def password_login(username, *, url="login"):
    client = Client()
    response = client.post(reverse(url), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def code_now(device):
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):0{device.digits}d}"


def enrol(user):
    device = TOTPDevice.objects.create(user=user, name="手机", confirmed=True)
    return device, services.recovery_codes_issue(user=user)


def verify_redirect(response, next_path):
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('two_factor_verify')}?next={next_path.replace('/', '%2F')}"


def test_a_required_role_enrols_with_a_qr_code_and_sees_its_recovery_codes_once(users, required):
    required.OTP_TOTP_THROTTLE_FACTOR = 0  # the wrong code below makes the device wait; not this test's subject
    client = password_login("sjz")
    response = client.get(reverse("project_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor_setup"))
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    # The QR code is drawn in the page, nothing loaded from anywhere else.
    assert "<svg" in html and "<img" not in html and "otpauth" not in html
    device = TOTPDevice.objects.get(user=users["city_coordinator"], confirmed=False)
    assert services.totp_secret_groups(device).replace(" ", "")[:8] in html.replace(" ", "")
    assert client.get(page.request["PATH_INFO"]).context["secret"] == page.context["secret"]  # same device on reload

    refused = client.post(reverse("two_factor_setup"), {"code": "000000" if code_now(device) != "000000" else "111111"})
    assert refused.status_code == 200 and refused.context["form"].errors
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed

    done = client.post(reverse("two_factor_setup"), {"code": code_now(device), "next": reverse("project_list")})
    assert done.status_code == 302 and done["Location"] == reverse("two_factor_codes")
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    shown = client.get(reverse("two_factor_codes"))
    codes = shown.context["codes"]
    assert len(codes) == services.RECOVERY_CODE_COUNT == 10 and len(set(codes)) == 10
    assert sorted(codes) == sorted(StaticToken.objects.filter(device__user=users["city_coordinator"]).values_list("token", flat=True))
    assert all(code in shown.content.decode() for code in codes)
    assert shown.context["next"] == reverse("project_list") and shown["Cache-Control"] == "no-store"
    assert client.get(reverse("two_factor_codes")).status_code == 302  # shown once
    # The session that enrolled is verified; the status page offers new codes.
    assert client.get(reverse("project_list")).status_code == 200
    status = client.get(reverse("two_factor_setup"))
    assert status.status_code == 200 and status.context["codes_left"] == 10


def test_a_required_role_gives_the_code_after_the_password_on_the_sites_pages(users, required):
    device, _codes = enrol(users["province_admin"])
    client = password_login("prov")
    for path in (reverse("dashboard"), reverse("project_list"), reverse("profile"), reverse("password_change")):
        verify_redirect(client.get(path), path)
    # The enrolment page is no way round it: a password alone cannot bind a second authenticator.
    assert client.get(reverse("two_factor_setup"))["Location"].startswith(reverse("two_factor_verify"))
    page = client.get(reverse("two_factor_verify") + "?next=/projects/")
    assert page.status_code == 200 and page.context["next"] == "/projects/"
    response = client.post(reverse("two_factor_verify"), {"code": code_now(device), "next": "/projects/"})
    assert response.status_code == 302 and response["Location"] == "/projects/"
    assert client.get(reverse("project_list")).status_code == 200
    assert client.get(reverse("dashboard")).status_code == 200
    # Another login (another browser) asks again.
    verify_redirect(password_login("prov").get(reverse("dashboard")), "/")


def test_the_verify_page_does_not_send_the_user_off_site(users, required):
    device, _codes = enrol(users["province_admin"])
    client = password_login("prov")
    response = client.post(reverse("two_factor_verify"), {"code": code_now(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")


def test_the_admin_asks_for_the_code_too(users, required, settings):
    device, _codes = enrol(users["province_admin"])
    client = password_login("prov", url="admin:login")
    changelist = reverse("admin:projects_project_changelist")
    verify_redirect(client.get(changelist), changelist)
    verify_redirect(client.get(reverse("admin:index")), reverse("admin:index"))
    # The admin site refuses the session by itself too, should the middleware ever be left out.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "projects.security.middleware.TwoFactorMiddleware"]
    bare = Client()  # a client loads the middleware on its first request
    bare.cookies = client.cookies
    response = bare.get(changelist)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    client.post(reverse("two_factor_verify"), {"code": code_now(device)})
    assert client.get(changelist).status_code == 200


def test_a_required_role_without_a_device_is_sent_to_enrol_from_the_admin(users, required):
    client = password_login("sjz", url="admin:login")
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor_setup"))


def test_a_wrong_code_is_refused_and_repeated_tries_must_wait(users, required):
    device, _codes = enrol(users["city_coordinator"])
    client = password_login("sjz")
    right = code_now(device)
    wrong = "123456" if right != "123456" else "654321"
    response = client.post(reverse("two_factor_verify"), {"code": wrong})
    assert response.status_code == 200 and "验证码不正确" in response.content.decode()
    verify_redirect(client.get(reverse("dashboard")), "/")
    # Straight after a wrong code even the right one waits (django-otp's throttling: 1, 2, 4 … seconds).
    response = client.post(reverse("two_factor_verify"), {"code": right})
    assert response.status_code == 200 and "尝试次数过多" in response.content.decode()
    verify_redirect(client.get(reverse("dashboard")), "/")
    TOTPDevice.objects.filter(pk=device.pk).update(  # the wait is over
        throttling_failure_timestamp=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    assert client.post(reverse("two_factor_verify"), {"code": right}).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_code_is_good_once(users, required):
    device, _codes = enrol(users["city_coordinator"])
    code = code_now(device)
    first = password_login("sjz")
    assert first.post(reverse("two_factor_verify"), {"code": code}).status_code == 302
    second = password_login("sjz")
    assert second.post(reverse("two_factor_verify"), {"code": code}).status_code == 200  # replayed
    verify_redirect(second.get(reverse("dashboard")), "/")


def test_a_recovery_code_works_once(users, required):
    _device, codes = enrol(users["province_admin"])
    client = password_login("prov")
    response = client.post(reverse("two_factor_verify"), {"code": f" {codes[0].upper()[:4]}-{codes[0][4:]} "}, follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == reverse("dashboard")
    assert "还剩 9 个" in response.content.decode()
    assert StaticToken.objects.filter(device__user=users["province_admin"]).count() == 9
    again = password_login("prov")
    StaticDevice.objects.filter(user=users["province_admin"]).update(throttling_failure_count=0)
    response = again.post(reverse("two_factor_verify"), {"code": codes[0]})
    assert response.status_code == 200 and "验证码不正确" in response.content.decode()
    verify_redirect(again.get(reverse("dashboard")), "/")
    assert again.post(reverse("two_factor_verify"), {"code": codes[1]}).status_code in (200, 302)  # (throttled or not)


def test_new_recovery_codes_void_the_old(users, required):
    device, old = enrol(users["province_admin"])
    client = password_login("prov")
    client.post(reverse("two_factor_verify"), {"code": code_now(device)})
    assert client.post(reverse("two_factor_setup"), {"action": "codes"})["Location"] == reverse("two_factor_codes")
    new = client.get(reverse("two_factor_codes")).context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert set(StaticToken.objects.filter(device__user=users["province_admin"]).values_list("token", flat=True)) == set(new)


@pytest.mark.parametrize("role", ["county_editor", "leader"])
def test_an_optional_role_is_not_forced_but_may_enrol(role, users, required):
    user = users[role]
    client = password_login(user.username)
    assert client.get(reverse("dashboard")).status_code == 200
    page = client.get(reverse("two_factor_setup"))
    assert page.status_code == 200 and not page.context["required"]
    assert "须使用两步验证" not in page.content.decode()
    # Once enrolled, their next login asks for the code like anyone's.
    enrol(user)
    verify_redirect(password_login(user.username).get(reverse("dashboard")), "/")


def test_with_the_setting_off_nobody_is_asked_to_enrol(users, settings):
    settings.TWO_FACTOR_REQUIRED = False
    for username in ("prov", "sjz"):
        assert password_login(username).get(reverse("dashboard")).status_code == 200


def test_a_superuser_counts_as_a_province_administrator(db, required):
    from projects.models import User

    User.objects.create_superuser("root", "root@example.org", PASSWORD)
    response = password_login("root").get(reverse("admin:index"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor_setup"))


def test_session_calls_of_the_api_wait_for_the_code_and_tokens_do_not(users, required):
    device, _codes = enrol(users["province_admin"])
    client = Client()
    client.force_login(users["province_admin"])
    response = client.get("/api/v1/projects/")
    assert response.status_code == 403 and "两步验证" in response.json()["detail"]
    # An Authorization header of another kind does not skip the check (the API would use the session).
    assert client.get("/api/v1/projects/", HTTP_AUTHORIZATION="Basic eDp5").status_code == 403
    client.post(reverse("two_factor_verify"), {"code": code_now(device)})
    assert client.get("/api/v1/projects/").status_code == 200
    # Machines: a token is its own proof, with or without a session beside it.
    _token, key = ApiToken.objects.create(user=users["province_admin"], expiry=datetime.timedelta(days=1), name="机器")
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/projects/").status_code == 200
    assert Client(HTTP_AUTHORIZATION="Token wrong").get("/api/v1/projects/").status_code == 401


def test_an_administrator_removes_a_lost_device_and_the_user_enrols_again(users, required):
    admin_device, _codes = enrol(users["province_admin"])
    lost, _lost_codes = enrol(users["city_coordinator"])
    province = password_login("prov")
    province.post(reverse("two_factor_verify"), {"code": code_now(admin_device)})
    changelist = reverse("admin:otp_totp_totpdevice_changelist")
    page = province.get(changelist)
    assert page.status_code == 200 and "sjz" in page.content.decode()
    assert "key" not in page.context["cl"].list_display  # no secrets on show
    assert "两步验证设备" in page.content.decode() and "剩余恢复码" in page.content.decode()
    assert "两步验证" in province.get(reverse("admin:index")).content.decode()
    response = province.post(reverse("admin:otp_totp_totpdevice_delete", args=[lost.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=users["city_coordinator"]).exists()
    assert not StaticDevice.objects.filter(user=users["city_coordinator"]).exists()  # the codes went with it
    response = password_login("sjz").get(reverse("dashboard"))
    assert response["Location"].startswith(reverse("two_factor_setup"))


def test_only_a_superuser_sees_a_superusers_device_and_only_administrators_see_devices(users, required):
    from projects.models import User

    root = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    root_device, _codes = enrol(root)
    admin_device, _codes = enrol(users["province_admin"])
    province = password_login("prov")
    province.post(reverse("two_factor_verify"), {"code": code_now(admin_device)})
    assert "root" not in province.get(reverse("admin:otp_totp_totpdevice_changelist")).content.decode()
    assert province.get(reverse("admin:otp_totp_totpdevice_change", args=[root_device.pk])).status_code == 302  # as missing
    assert province.post(reverse("admin:otp_totp_totpdevice_delete", args=[root_device.pk]), {"post": "yes"}).status_code == 302
    assert TOTPDevice.objects.filter(pk=root_device.pk).exists()
    # A city coordinator (verified) has no device admin at all; nobody adds a device for someone else.
    city = make_user("sjz2", Role.CITY_COORDINATOR, PROVINCE)
    city_device, _codes = enrol(city)
    client = password_login("sjz2")
    client.post(reverse("two_factor_verify"), {"code": code_now(city_device)})
    assert client.get(reverse("admin:otp_totp_totpdevice_changelist")).status_code == 403
    assert province.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403
