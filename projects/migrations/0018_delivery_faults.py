"""A delivery's due day (issue 21, point 5): what a missed run's catch-up records shows it went out late."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("projects", "0017_supervision_once"),
    ]

    operations = [
        migrations.AddField(
            model_name="digestdelivery",
            name="due_on",
            field=models.DateField(blank=True, null=True, verbose_name="应发日期"),
        ),
    ]
