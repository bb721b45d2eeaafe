"""The checks on a site photo, warnings a reviewer sees like the figure checks (projects.dispatch.reports):
a code with parameters, worded in the reader's language when shown.

- taken outside the reported month (its EXIF time, read in the site's time zone);
- taken farther than PHOTO_MAX_DISTANCE_KM from the project's position, when both positions are known;
- the same picture (by the hash of its pixels) as one attached to an earlier month of the project.
"""

import math
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

PHOTO_WARNING_TEXTS = {
    "outside_month": _("拍摄于 %(taken)s，不在填报月份 %(month)s 内"),
    "too_far": _("拍摄地点距项目位置 %(distance)s 公里，超过 %(limit)s 公里"),
    "duplicate": _("与 %(month)s 已上传的照片相同"),
}

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class PhotoWarning:
    """A check that fired on a photo: its code and parameters; `message` words it for the reader."""

    code: str
    params: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def message(self):
        text = PHOTO_WARNING_TEXTS.get(self.code)
        return gettext(text) % self.params if text is not None else self.code

    def __str__(self):
        return str(self.message)


def distance_km(lat1, lon1, lat2, lon2):
    """Great-circle distance between two points in degrees (haversine), in kilometres."""
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    dphi, dlambda = phi2 - phi1, math.radians(float(lon2) - float(lon1))
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def photo_warnings(photo, *, project, earlier_months=()):
    """The warnings of one photo. `project` carries latitude/longitude; `earlier_months`: the months before
    the photo's in which the same project has a photo with the same hash."""
    warnings = []
    if photo.taken_at is not None:
        taken = timezone.localtime(photo.taken_at)
        if (taken.year, taken.month) != (photo.month.year, photo.month.month):
            warnings.append(PhotoWarning("outside_month", {
                "taken": f"{taken:%Y-%m-%d %H:%M}", "month": f"{photo.month:%Y-%m}"}))
    known = None not in (photo.latitude, photo.longitude, project.latitude, project.longitude)
    if known:
        distance = distance_km(photo.latitude, photo.longitude, project.latitude, project.longitude)
        limit = float(settings.PHOTO_MAX_DISTANCE_KM)
        if distance > limit:
            warnings.append(PhotoWarning("too_far", {"distance": f"{distance:,.1f}", "limit": f"{limit:g}"}))
    for month in sorted(earlier_months):
        warnings.append(PhotoWarning("duplicate", {"month": f"{month:%Y-%m}"}))
        break  # the earliest month says it; more would repeat the same warning
    return warnings
