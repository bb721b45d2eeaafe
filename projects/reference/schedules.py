"""The beat schedules (django-celery-beat) the platform runs on: digests, reminders, lights, supervision,
catch-up, pruning. Created once; an operator's changes in the admin are kept."""

import json

from django.conf import settings

BEAT_SCHEDULES = {
    # name: (task, kwargs, crontab fields); times are Asia/Shanghai. The digests and reminders run every
    # day and send only on their days of China's working-day calendar, which a crontab cannot express.
    "重点项目周报（每周第一个工作日 08:30）": ("projects.tasks.dispatch_digests", {"frequency": "weekly"}, {"minute": "30", "hour": "8"}),
    "重点项目月报（月度调度截止后第一个工作日 08:30）": ("projects.tasks.dispatch_digests", {"frequency": "monthly"}, {"minute": "30", "hour": "8"}),
    # Before the monthly digest, which attaches it (issue 28): the province's and each city's 调度通报.
    "调度通报生成（月度调度截止后第一个工作日 07:30）": ("projects.tasks.generate_bulletins", {}, {"minute": "30", "hour": "7"}),
    "月度调度催报（截止前两个工作日、截止当日、截止次一工作日 09:00）": ("projects.tasks.send_report_reminders", {}, {"minute": "0", "hour": "9"}),
    "简报补发检查（每15分钟）": ("projects.tasks.catch_up_digests", {}, {"minute": "*/15"}),
    # Time progress moves at midnight; the lights are evaluated until this has judged them for the day.
    "红黄绿灯每日评定（00:10）": ("projects.tasks.refresh_lights", {}, {"minute": "10", "hour": "0"}),
    # After the lights: open, close and escalate supervision items (escalating only on working days).
    "督办每日处理（00:40）": ("projects.tasks.run_supervision", {}, {"minute": "40", "hour": "0"}),
    # The security audit trail keeps AUDIT_RETENTION_DAYS (issue 22): older events go each night.
    "安全审计日志清理（03:20）": ("projects.audit.tasks.prune_audit", {}, {"minute": "20", "hour": "3"}),
}


# Schedules replaced since: an installation that still has the old one gets the new one instead.
RENAMED_SCHEDULES = {
    "简报补发检查（每小时）": "简报补发检查（每15分钟）",
    "重点项目周报（每周一 08:30）": "重点项目周报（每周第一个工作日 08:30）",
    "重点项目月报（月度调度截止次日 08:30）": "重点项目月报（月度调度截止后第一个工作日 08:30）",
}


def beat_schedules_ensure():
    """Create the schedules for django-celery-beat; once created, edits made in the admin stay."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    for old_name, name in RENAMED_SCHEDULES.items():
        if not PeriodicTask.objects.filter(name=name).exists():
            PeriodicTask.objects.filter(name=old_name).delete()
    for name, (task, kwargs, cron) in BEAT_SCHEDULES.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        fields = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*", **cron}
        crontab, _created = CrontabSchedule.objects.get_or_create(timezone=settings.TIME_ZONE, **fields)
        PeriodicTask.objects.create(name=name, task=task, kwargs=json.dumps(kwargs), crontab=crontab)
