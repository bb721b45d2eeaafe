from django.db import migrations


class Migration(migrations.Migration):
    """A delivery is no longer only a digest (weekly, monthly): it may be a reminder or a notice."""

    dependencies = [
        ("projects", "0004_background_recovery"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="digestdelivery", name="projects_delivery_once"),
        migrations.RenameField(model_name="digestdelivery", old_name="frequency", new_name="kind"),
    ]
