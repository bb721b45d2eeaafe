"""Indexes in the list's orders (issue 24): a city's and a county's first page, and each sort the list's
headers offer (by its column, then the default order), read along an index instead of sorting or filtering
the province's 100,000 projects. The stage index becomes the stage sort's, which serves a stage filter too."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("actions", "0001_initial"),
        ("projects", "0019_security_audit"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="project",
            name="projects_pr_stage_c4babc_idx",
        ),
        migrations.AddIndex(
            model_name="project",
            index=models.Index(fields=["city", "city_code", "county_code", "name", "id"], name="projects_city_order"),
        ),
        migrations.AddIndex(
            model_name="project",
            index=models.Index(fields=["county", "city_code", "county_code", "name", "id"], name="projects_county_order"),
        ),
        migrations.AddIndex(
            model_name="project",
            index=models.Index(fields=["total_investment", "city_code", "county_code", "name", "id"], name="projects_investment_order"),
        ),
        migrations.AddIndex(
            model_name="project",
            index=models.Index(fields=["stage", "city_code", "county_code", "name", "id"], name="projects_stage_order"),
        ),
        migrations.AddIndex(
            model_name="project",
            index=models.Index(fields=["name", "city_code", "county_code", "id"], name="projects_name_order"),
        ),
        migrations.AddIndex(
            model_name="project",
            index=models.Index(fields=["code", "city_code", "county_code", "name", "id"], name="projects_code_order"),
        ),
    ]
