"""Self-service password reset by mail (issue 22): a 忘记密码 link on the login page, a mail through the
app's mail setup whose link sets a new password once, the same answer for an address no account has, and
a limit on requests per address and per client address."""

import re
from urllib.parse import urlsplit

from django.test import Client
from django.urls import reverse

from projects.models import User

NEW_PASSWORD = "a-new-long-password-2026"


def ask(client, email, **extra):
    return client.post(reverse("password_reset"), {"email": email}, **extra)


def link_in(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/accounts/reset/\S+/\S+/", text).group(0)


def test_the_login_page_links_to_the_reset_page(db):
    page = Client().get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}"' in page and "忘记密码" in page
    assert Client().get(reverse("password_reset")).status_code == 200


def test_the_mail_comes_through_smtp_and_its_link_sets_a_new_password_once(users, mail_server, settings):
    settings.SITE_URL = "https://projects.example.org"
    client = Client()
    response = ask(client, "ZD@example.org")  # case does not matter
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    [message] = mail_server.handler.wait_for(1)
    assert message["To"] == "zd@example.org" and "重置密码" in message["Subject"]
    link = link_in(message)
    assert link.startswith("https://projects.example.org/accounts/reset/")  # SITE_URL, never the request's Host
    html = message.get_body(preferencelist=("html",)).get_content()
    assert link in html
    path = link.removeprefix("https://projects.example.org")
    form = client.get(path, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    set_url = form.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    assert User.objects.get(username="zd").check_password(NEW_PASSWORD)
    login = Client().post(reverse("login"), {"username": "zd", "password": NEW_PASSWORD})
    assert login.status_code == 302 and login["Location"] == reverse("start")  # then their 待办 or the dashboard (issue 26)
    # The link is spent.
    again = Client().get(path, follow=True)
    assert again.status_code == 200 and not again.context["validlink"]


def test_an_unknown_address_gets_the_same_answer_and_no_mail(users, mail_server):
    known = ask(Client(), "zd@example.org")
    unknown = ask(Client(), "nobody@example.org")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    def page(response):  # without the per-request CSRF token
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", Client().get(response["Location"]).content.decode())

    assert page(known) == page(unknown)
    assert len(mail_server.handler.wait_for(1)) == 1
    assert [message["To"] for message in mail_server.messages] == ["zd@example.org"]


def test_an_inactive_account_gets_no_mail_and_a_new_one_without_a_password_does(users, mail_server):
    User.objects.filter(username="zd").update(is_active=False)
    fresh = User.objects.create_user("fresh", email="fresh@example.org")  # opened by an import, no password yet
    assert not fresh.has_usable_password()
    assert ask(Client(), "zd@example.org").status_code == 302
    assert ask(Client(), "fresh@example.org").status_code == 302
    mail_server.handler.wait_for(1)
    assert [message["To"] for message in mail_server.messages] == ["fresh@example.org"]


def test_requests_are_limited_per_address_and_per_client(users, mail_server, settings):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 2
    settings.PASSWORD_RESET_LIMIT_PER_IP = 5
    client = Client()
    assert [ask(client, "zd@example.org").status_code for _ in range(3)] == [302, 302, 429]
    assert len(mail_server.handler.wait_for(2)) == 2
    refused = ask(client, "ZD@example.org")  # the same address, however written
    assert refused.status_code == 429 and "过于频繁" in refused.content.decode()
    # An unknown address is counted alike: the limit tells nothing about accounts.
    assert [ask(Client(REMOTE_ADDR="10.9.9.9"), "ghost@example.org").status_code for _ in range(3)] == [302, 302, 429]
    # Per client address: one client asking for many addresses is stopped too.
    other = Client(REMOTE_ADDR="10.1.2.3")
    answers = [ask(other, f"someone{index}@example.org").status_code for index in range(6)]
    assert answers == [302] * 5 + [429]
    assert len(mail_server.messages) == 2  # nothing more was sent


def test_a_reset_works_for_a_user_who_must_use_two_factors(users, mail_server, settings):
    """The reset sets the password only: the second factor is still asked at the next login."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.TWO_FACTOR_REQUIRED = True
    TOTPDevice.objects.create(user=users["province_admin"], name="手机", confirmed=True)
    client = Client()
    ask(client, "prov@example.org")
    [message] = mail_server.handler.wait_for(1)
    form = client.get(urlsplit(link_in(message)).path, follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert User.objects.get(username="prov").check_password(NEW_PASSWORD)
    login = Client()
    login.post(reverse("login"), {"username": "prov", "password": NEW_PASSWORD})
    assert login.get(reverse("dashboard"))["Location"].startswith(reverse("two_factor_verify"))
