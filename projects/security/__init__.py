"""Account security (issue 22): two-factor login with django-otp (a TOTP authenticator and single-use
recovery codes) and self-service password reset by mail.

- services.py: the rules (who must prove a second factor, enrolment, checking a code, the reset limit);
- middleware.py: a session that owes its second factor reaches only the login, verification and
  enrolment pages (the site, the admin and session calls of the API alike);
- sites.py: the admin site that refuses such a session too;
- views.py, forms.py, urls.py: the pages (administrators remove a lost device in admin/security.py).
"""
