from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('actions', '0001_initial'),
        ('projects', '0015_money_repair'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='annualplan',
            constraint=models.CheckConstraint(condition=models.Q(('planned_investment__gte', 0), ('planned_investment__lte', Decimal('99999999999999.99'))), name='projects_plan_planned_investment_in_range'),
        ),
        migrations.AddConstraint(
            model_name='annualplan',
            constraint=models.CheckConstraint(condition=models.Q(('completed_before_year__gte', 0), ('completed_before_year__lte', Decimal('99999999999999.99'))), name='projects_plan_completed_before_year_in_range'),
        ),
        migrations.AddConstraint(
            model_name='annualplan',
            constraint=models.CheckConstraint(condition=models.Q(('completed_investment__gte', 0), ('completed_investment__lte', Decimal('99999999999999.99'))), name='projects_plan_completed_investment_in_range'),
        ),
        migrations.AddConstraint(
            model_name='monthlyreport',
            constraint=models.CheckConstraint(condition=models.Q(('completed_investment__gte', 0), ('completed_investment__lte', Decimal('99999999999999.99'))), name='projects_report_completed_investment_in_range'),
        ),
        migrations.AddConstraint(
            model_name='project',
            constraint=models.CheckConstraint(condition=models.Q(('total_investment__gte', 0), ('total_investment__lte', Decimal('99999999999999.99'))), name='projects_project_total_investment_in_range'),
        ),
    ]
