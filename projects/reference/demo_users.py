"""The demo's users: one per role, in regions that show each role's view (the province, a city, a county,
a city-level unit), each subscribed to the digests."""

from projects.accounts.services import user_set_role
from projects.domain.choices import DigestFrequency, Role
from projects.models import DigestSubscription, Region, User

# (username, role, region code, display name)
DEMO_USERS = [
    ("province", Role.PROVINCE_ADMIN, "130000", "省发展改革委"),
    ("leader", Role.LEADER, "130000", "省领导"),
    ("shijiazhuang", Role.CITY_COORDINATOR, "130100", "石家庄市发展改革委"),
    ("xiongan", Role.CITY_COORDINATOR, "133100", "雄安新区改革发展局"),
    ("zhengding", Role.COUNTY_EDITOR, "130123", "正定县发展改革局"),
    ("nangong", Role.COUNTY_EDITOR, "130581", "南宫市发展改革局"),
]


def seed_users(password):
    """The demo users, one per role, each with their password and a subscription to every digest; returns
    (username, role, name) for the command to print."""
    names = []
    for username, role, region_code, display in DEMO_USERS:
        user, _created = User.objects.update_or_create(
            username=username,
            defaults={
                "region": Region.objects.get(code=region_code),
                "first_name": display,
                "email": f"{username}@example.org",
                "is_staff": True,
                "is_active": True,
            },
        )
        user.set_password(password)
        user.save()
        user_set_role(user=user, role=role)
        for frequency in DigestFrequency:
            DigestSubscription.objects.get_or_create(user=user, frequency=frequency)
        names.append((username, role.label, display))
    return names
