"""The investment-promotion lifecycle on the project (issue 25): investor, its region and source, signing
date and event, contract amount, registration, production and termination dates, and the stage the database
derives from them (a generated column, indexed with the signing date); funds in place (实际到位资金) on the
monthly report and their sum for the year on the annual plan.

On PostgreSQL also a trigram index for the investor, now searched with the code, name and owner (as 0021 did
for those); nothing of it on SQLite."""

from decimal import Decimal

from django.db import migrations, models

import projects.domain.figures


def investor_search_index_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        'CREATE INDEX IF NOT EXISTS "projects_investor_trgm" ON "projects_project" '
        'USING gin ((UPPER("investor"::text)) gin_trgm_ops)'
    )


def investor_search_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP INDEX IF EXISTS "projects_investor_trgm"')


class Migration(migrations.Migration):

    dependencies = [
        ('actions', '0001_initial'),
        ('projects', '0021_search_trigram_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='annualplan',
            name='funds_in_place',
            field=models.DecimalField(decimal_places=2, default=0, editable=False, max_digits=16, validators=[projects.domain.figures.money_validator], verbose_name='本年累计实际到位资金（万元）'),
        ),
        migrations.AddField(
            model_name='historicalmonthlyreport',
            name='funds_in_place',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=16, null=True, validators=[projects.domain.figures.money_validator], verbose_name='本月实际到位资金（万元）'),
        ),
        migrations.AddField(
            model_name='historicalproject',
            name='contract_amount',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=16, null=True, validators=[projects.domain.figures.money_validator, projects.domain.figures.contract_amount_validator], verbose_name='协议投资额（万元）'),
        ),
        migrations.AddField(
            model_name='historicalproject',
            name='investor',
            field=models.CharField(blank=True, help_text='签约企业或投资主体；项目单位（项目法人）可能是其在本地注册的公司。', max_length=200, verbose_name='投资方'),
        ),
        migrations.AddField(
            model_name='historicalproject',
            name='investor_region',
            field=models.CharField(blank=True, help_text='如“北京市海淀区”“广东省深圳市”“香港”；投资方来源未填时据此判定。', max_length=100, verbose_name='投资方所在地'),
        ),
        migrations.AddField(
            model_name='historicalproject',
            name='investor_source',
            field=models.CharField(blank=True, choices=[('beijing_tianjin', '京津'), ('in_province', '省内'), ('other_province', '省外'), ('abroad', '境外')], help_text='京津、省内、省外或境外；未填时按投资方所在地判定，可修改。', max_length=20, verbose_name='投资方来源'),
        ),
        migrations.AddField(
            model_name='historicalproject',
            name='production_on',
            field=models.DateField(blank=True, null=True, verbose_name='投产时间'),
        ),
        migrations.AddField(
            model_name='historicalproject',
            name='registered_on',
            field=models.DateField(blank=True, null=True, verbose_name='注册时间'),
        ),
        migrations.AddField(
            model_name='historicalproject',
            name='signed_on',
            field=models.DateField(blank=True, null=True, verbose_name='签约时间'),
        ),
        migrations.AddField(
            model_name='historicalproject',
            name='signing_event',
            field=models.CharField(blank=True, help_text='如集中签约、廊坊经洽会。', max_length=200, verbose_name='签约活动'),
        ),
        migrations.AddField(
            model_name='historicalproject',
            name='terminated_on',
            field=models.DateField(blank=True, help_text='签约项目终止（不再落地）的日期。', null=True, verbose_name='终止时间'),
        ),
        migrations.AddField(
            model_name='monthlyreport',
            name='funds_in_place',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=16, null=True, validators=[projects.domain.figures.money_validator], verbose_name='本月实际到位资金（万元）'),
        ),
        migrations.AddField(
            model_name='project',
            name='contract_amount',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=16, null=True, validators=[projects.domain.figures.money_validator, projects.domain.figures.contract_amount_validator], verbose_name='协议投资额（万元）'),
        ),
        migrations.AddField(
            model_name='project',
            name='production_on',
            field=models.DateField(blank=True, null=True, verbose_name='投产时间'),
        ),
        migrations.AddField(
            model_name='project',
            name='registered_on',
            field=models.DateField(blank=True, null=True, verbose_name='注册时间'),
        ),
        migrations.AddField(
            model_name='project',
            name='signed_on',
            field=models.DateField(blank=True, null=True, verbose_name='签约时间'),
        ),
        migrations.AddField(
            model_name='project',
            name='terminated_on',
            field=models.DateField(blank=True, help_text='签约项目终止（不再落地）的日期。', null=True, verbose_name='终止时间'),
        ),
        migrations.AddField(
            model_name='project',
            name='investor',
            field=models.CharField(blank=True, help_text='签约企业或投资主体；项目单位（项目法人）可能是其在本地注册的公司。', max_length=200, verbose_name='投资方'),
        ),
        migrations.AddField(
            model_name='project',
            name='investor_region',
            field=models.CharField(blank=True, help_text='如“北京市海淀区”“广东省深圳市”“香港”；投资方来源未填时据此判定。', max_length=100, verbose_name='投资方所在地'),
        ),
        migrations.AddField(
            model_name='project',
            name='investor_source',
            field=models.CharField(blank=True, choices=[('beijing_tianjin', '京津'), ('in_province', '省内'), ('other_province', '省外'), ('abroad', '境外')], help_text='京津、省内、省外或境外；未填时按投资方所在地判定，可修改。', max_length=20, verbose_name='投资方来源'),
        ),
        migrations.AddField(
            model_name='project',
            name='signing_event',
            field=models.CharField(blank=True, help_text='如集中签约、廊坊经洽会。', max_length=200, verbose_name='签约活动'),
        ),
        migrations.AddConstraint(
            model_name='annualplan',
            constraint=models.CheckConstraint(condition=models.Q(('funds_in_place__gte', 0), ('funds_in_place__lte', Decimal('99999999999999.99'))), name='projects_plan_funds_in_place_in_range'),
        ),
        migrations.AddConstraint(
            model_name='monthlyreport',
            constraint=models.CheckConstraint(condition=models.Q(('funds_in_place__gte', 0), ('funds_in_place__lte', Decimal('99999999999999.99'))), name='projects_report_funds_in_place_in_range'),
        ),
        migrations.AddConstraint(
            model_name='project',
            constraint=models.CheckConstraint(condition=models.Q(('contract_amount__gte', 0), ('contract_amount__lte', Decimal('99999999999999.99'))), name='projects_project_contract_amount_in_range'),
        ),
        migrations.AddField(
            model_name='project',
            name='investment_stage',
            field=models.GeneratedField(db_persist=True, expression=models.Case(models.When(models.Q(('production_on__isnull', True), ('registered_on__isnull', True), ('signed_on__isnull', True), ('terminated_on__isnull', True)), then=models.Value('')), models.When(terminated_on__isnull=False, then=models.Value('terminated')), models.When(production_on__isnull=False, then=models.Value('in_production')), models.When(actual_start__isnull=False, then=models.Value('started')), models.When(registered_on__isnull=False, then=models.Value('registered')), default=models.Value('signed'), output_field=models.CharField(max_length=20)), output_field=models.CharField(blank=True, choices=[('signed', '签约'), ('registered', '注册'), ('started', '开工'), ('in_production', '投产'), ('terminated', '终止')], max_length=20), verbose_name='招商阶段'),
        ),
        migrations.AddIndex(
            model_name='project',
            index=models.Index(fields=['investment_stage', 'signed_on'], name='projects_investment_stage'),
        ),
        migrations.RunPython(investor_search_index_create, investor_search_index_drop),
    ]
