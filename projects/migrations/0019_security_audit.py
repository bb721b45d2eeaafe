# The security audit trail (issue 22).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("projects", "0018_delivery_faults"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="时间")),
                ("code", models.CharField(choices=[
                    ("login", "登录"), ("login_failed", "登录失败"), ("locked_out", "登录锁定"), ("logout", "退出登录"),
                    ("password_changed", "修改密码"), ("role_changed", "角色变更"), ("token_issued", "签发 API 令牌"),
                    ("token_revoked", "吊销 API 令牌"), ("token_expired", "API 令牌过期删除"), ("export", "导出"),
                    ("import_confirmed", "确认导入"),
                ], max_length=40, verbose_name="事件")),
                ("username", models.CharField(blank=True, max_length=150, verbose_name="用户名")),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True, verbose_name="IP 地址")),
                ("target_type", models.CharField(blank=True, help_text="模型标识，例如 projects.user。", max_length=100, verbose_name="对象类型")),
                ("target_id", models.CharField(blank=True, max_length=64, verbose_name="对象编号")),
                ("target", models.CharField(blank=True, max_length=200, verbose_name="对象")),
                ("params", models.JSONField(blank=True, default=dict, verbose_name="参数")),
                ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                                            to=settings.AUTH_USER_MODEL, verbose_name="操作人")),
            ],
            options={
                "verbose_name": "安全审计日志",
                "verbose_name_plural": "安全审计日志",
                "ordering": ["-at", "-pk"],
                "indexes": [
                    models.Index(fields=["code", "-at"], name="audit_code_at"),
                    models.Index(fields=["actor", "-at"], name="audit_actor_at"),
                ],
            },
        ),
    ]
