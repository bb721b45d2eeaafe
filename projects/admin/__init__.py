"""The admin, one module per topic."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from projects.admin import audit, calendar, catalogue, digests, imports, projects, security, supervision, users  # noqa: F401  (each registers its admins)

admin.site.site_header = _("河北省重点项目调度平台")
admin.site.site_title = _("重点项目调度")
admin.site.index_title = _("管理")
