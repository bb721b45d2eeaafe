"""An audit event in the reader's language, from its code and parameters (words come at the surface, as for
the figures' warnings): the stored event never holds a sentence."""

from django.apps import apps
from django.utils.translation import gettext as _

from projects.domain.choices import Role
from projects.models import AuditEvent

Code = AuditEvent.Code


def _role(value):
    return Role(value).label if value in Role.values else (value or _("无"))


def _table(label):
    try:
        return str(apps.get_model(label)._meta.verbose_name_plural)
    except (LookupError, ValueError):
        return label or "—"


def _filters(filters):
    if not filters:
        return _("无")
    return "；".join(f"{key}={','.join(str(value) for value in values)}" for key, values in filters.items())


def _outcome(params):
    counts = params.get("counts") or {}
    return _("新增 %(created)d，更新 %(updated)d，不变 %(unchanged)d，跳过 %(skipped)d，错误 %(errors)d") % {
        "created": counts.get("created", 0), "updated": counts.get("updated", 0), "unchanged": counts.get("unchanged", 0),
        "skipped": params.get("skipped", 0), "errors": params.get("errors", 0),
    }


def describe(event):
    """The sentence shown in the audit list and its export."""
    params = event.params or {}
    user = params.get("user") or event.target or "—"
    code = event.code
    if code == Code.LOGIN:
        return _("登录成功")
    if code == Code.LOGIN_FAILED:
        return _("用户名“%(username)s”登录失败") % {"username": params.get("username", event.username)}
    if code == Code.LOCKED_OUT:
        return _("用户名“%(username)s”在该地址连续登录失败，已锁定") % {"username": params.get("username", event.username)}
    if code == Code.LOGOUT:
        return _("退出登录")
    if code == Code.PASSWORD_CHANGED:
        if params.get("unusable"):
            return _("停用了用户 %(user)s 的密码登录") % {"user": user}
        return _("修改了用户 %(user)s 的密码") % {"user": user}
    if code == Code.ROLE_CHANGED:
        return _("用户 %(user)s 的角色由“%(before)s”改为“%(after)s”") % {
            "user": user, "before": _role(params.get("before")), "after": _role(params.get("after"))}
    if code in (Code.TOKEN_ISSUED, Code.TOKEN_REVOKED, Code.TOKEN_EXPIRED):
        values = {"user": user, "name": params.get("name", ""),
                  "access": _("只读") if params.get("read_only") else _("可写"), "expiry": params.get("expiry") or "—"}
        if code == Code.TOKEN_ISSUED:
            return _("为用户 %(user)s 签发 API 令牌“%(name)s”（%(access)s，有效至 %(expiry)s）") % values
        if code == Code.TOKEN_REVOKED:
            return _("吊销用户 %(user)s 的 API 令牌“%(name)s”") % values
        return _("用户 %(user)s 的 API 令牌“%(name)s”已过期，已删除") % values
    if code == Code.EXPORT:
        return _("导出%(table)s %(rows)s 行（%(format)s），筛选条件：%(filters)s") % {
            "table": _table(params.get("table")), "rows": params.get("rows", 0), "format": params.get("format", ""),
            "filters": _filters(params.get("filters"))}
    if code == Code.IMPORT_CONFIRMED:
        return _("确认导入%(table)s，文件“%(file)s”：%(outcome)s") % {
            "table": _table(params.get("table")), "file": params.get("file", ""), "outcome": _outcome(params)}
    return event.get_code_display()
