"""The admin, one module per topic."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from projects.admin import (  # noqa: F401  (each registers its admins)
    audit,
    bulletins,  # noqa: F401  (the monthly bulletins, issue 28)
    calendar,
    catalogue,
    digests,
    imports,
    project_rows,
    projects,
    rankings,
    security,
    supervision,
    users,
)

admin.site.site_header = _("河北省重点项目调度平台")
admin.site.site_title = _("重点项目调度")
admin.site.index_title = _("管理")
