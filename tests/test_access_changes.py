"""A user's role and permissions are read from the cache, not from three queries a request (their groups, their own
and their groups' permissions: every API request paid them), and a change of them holds from the next request on:
a user's groups, a group's permissions, a group renamed, a user deactivated or made superuser, inside a transaction
or not (issue 24)."""

import datetime

from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects.accounts.services import user_set_role
from projects.domain.access import ROLE_GROUP_NAMES, user_role
from projects.domain.choices import Role
from projects.models import ApiToken, User

from .test_access import client_for

ACCESS_TABLES = ('"auth_group"', '"auth_permission"', '"projects_user_groups"')


def access_queries(client, url, **headers):
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(url, **headers)
    return answer.status_code, [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in ACCESS_TABLES)]


def test_a_page_and_an_api_request_read_the_role_and_permissions_from_the_cache(users, projects):
    editor = users["county_editor"]
    client = client_for(editor)
    assert access_queries(client, reverse("monthly_report"))[0] == 200
    assert access_queries(client, reverse("monthly_report")) == (200, [])  # checks add_monthlyreport, reads the role
    _token, key = ApiToken.objects.create(user=editor, expiry=datetime.timedelta(hours=1), name="t", read_only=True)
    api = client_for(editor)
    api.logout()
    assert access_queries(api, "/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}") == (200, [])


def test_a_role_given_or_taken_holds_from_the_next_request(users, projects):
    editor = users["county_editor"]
    client = client_for(editor)
    assert client.get(reverse("monthly_report")).status_code == 200
    user_set_role(user=User.objects.get(pk=editor.pk), role=Role.LEADER)  # as the admin's user form does
    assert client.get(reverse("monthly_report")).status_code == 403
    fresh = User.objects.get(pk=editor.pk)
    assert user_role(fresh) == Role.LEADER and not fresh.has_perm("projects.add_monthlyreport")
    user_set_role(user=User.objects.get(pk=editor.pk), role=Role.COUNTY_EDITOR)
    assert client.get(reverse("monthly_report")).status_code == 200


def test_a_groups_permissions_and_name_changed_hold_from_the_next_request(users, projects):
    client = client_for(users["county_editor"])
    assert client.get(reverse("monthly_report")).status_code == 200
    group = Group.objects.get(name=ROLE_GROUP_NAMES[Role.COUNTY_EDITOR])
    report = Permission.objects.get(codename="add_monthlyreport")
    group.permissions.remove(report)
    assert client.get(reverse("monthly_report")).status_code == 403
    group.permissions.add(report)
    assert client.get(reverse("monthly_report")).status_code == 200
    group.name = "改名后的组"  # no longer the county editors' group: no role
    group.save()
    assert user_role(User.objects.get(pk=users["county_editor"].pk)) is None


def test_a_user_made_superuser_or_a_direct_permission_holds_from_the_next_request(users, projects):
    leader = users["leader"]
    client = client_for(leader)
    assert client.get(reverse("monthly_report")).status_code == 403
    User.objects.get(pk=leader.pk).user_permissions.add(Permission.objects.get(codename="add_monthlyreport"))
    assert client.get(reverse("monthly_report")).status_code == 200
    User.objects.get(pk=leader.pk).user_permissions.clear()
    assert client.get(reverse("monthly_report")).status_code == 403
    User.objects.filter(pk=leader.pk).update(is_superuser=True)  # past the signals: the user's own row is read
    assert client.get(reverse("monthly_report")).status_code == 200
    User.objects.filter(pk=leader.pk).update(is_active=False)
    assert not User.objects.get(pk=leader.pk).has_perm("projects.add_monthlyreport")
    assert client.get(reverse("monthly_report")).status_code == 302  # signed out: to the login page


def test_a_reader_between_a_change_and_its_commit_keeps_nothing_read_after_it(users, django_capture_on_commit_callbacks):
    """Two people at once: the version moves when the groups change, but the change is another request's only when it
    commits. A reader in between reads the groups before it and keeps them under the new version; the version moves
    again at the commit, so that nobody reads what it kept."""
    from django.core.cache import cache

    from projects.domain import access

    editor = users["county_editor"]
    assert user_role(User.objects.get(pk=editor.pk)) == Role.COUNTY_EDITOR
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            user_set_role(user=User.objects.get(pk=editor.pk), role=Role.LEADER)
            # What the other request keeps: the role before the change, under the version the change moved to.
            cache.set(access.ACCESS_KEY.format(editor.pk), ((cache.get(access.ACCESS_VERSION_KEY), True, False),
                                                            {"role": Role.COUNTY_EDITOR}), access.ACCESS_SECONDS)
            assert user_role(User.objects.get(pk=editor.pk)) == Role.COUNTY_EDITOR  # what it would read, uncommitted
    assert user_role(User.objects.get(pk=editor.pk)) == Role.LEADER
