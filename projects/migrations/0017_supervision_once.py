"""One open automatic supervision item per project and cause (per problem for an old problem), held by the
database (issue 21, point 4): two runs at once used to open every item twice and record escalations twice.

What they left is repaired first, so that the constraints can be created: of the open automatic items with
the same key the oldest stays open, the others are closed with a note naming it (their responses and
steps are kept, on their own pages); an automatic step (no user) recorded twice the same day on the same
item is kept once."""

from django.db import migrations, models
from django.utils import timezone

AUTOMATIC = ("red_light", "overdue_report")
DUPLICATE_RESULT = "与督办事项 #%d 重复，自动办结。"


def repair_duplicates(apps, schema_editor):
    Item = apps.get_model("projects", "SupervisionItem")
    Step = apps.get_model("projects", "SupervisionStep")
    Historical = apps.get_model("projects", "HistoricalSupervisionItem")
    now = timezone.now()
    today = timezone.localdate()
    kept, duplicates = {}, []
    open_items = Item.objects.filter(status="open", cause__in=(*AUTOMATIC, "old_problem")).order_by("pk")
    for item in open_items.iterator():
        key = ("problem", item.problem_id) if item.cause == "old_problem" else (item.project_id, item.cause)
        if key in kept:
            duplicates.append((item, kept[key]))
        else:
            kept[key] = item.pk
    fields = [field.attname for field in Item._meta.concrete_fields]
    for item, original in duplicates:
        item.status, item.closed_on, item.result = "closed", today, DUPLICATE_RESULT % original
        item.save(update_fields=["status", "closed_on", "result"])
        Step.objects.create(item=item, kind="closed", level=item.level, text=item.result)
        Historical.objects.create(history_date=now, history_type="~", **{name: getattr(item, name) for name in fields})
    seen = set()
    for step in Step.objects.filter(user__isnull=True).exclude(kind="response").order_by("pk").iterator():
        key = (step.item_id, step.kind, step.level, step.text, timezone.localtime(step.at).date())
        if key in seen:
            step.delete()
        else:
            seen.add(key)


class Migration(migrations.Migration):

    dependencies = [
        ("projects", "0016_money_in_range"),
    ]

    operations = [
        migrations.RunPython(repair_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="supervisionitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("cause__in", ["red_light", "overdue_report"]), ("status", "open")),
                fields=("project", "cause"),
                name="supervision_open_once_per_cause",
            ),
        ),
        migrations.AddConstraint(
            model_name="supervisionitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("cause", "old_problem"), ("status", "open")),
                fields=("problem",),
                name="supervision_open_once_per_problem",
            ),
        ),
    ]
