"""The projects app's models, one module per topic; everything is importable from here."""

from projects.models.api import ApiToken
from projects.models.audit import AuditEvent
from projects.models.calendar import WorkdayOverride
from projects.models.catalogue import (
    MONEY,
    Batch,
    Cluster,
    ClusterQuerySet,
    Industry,
    Programme,
    Region,
    RegionQuerySet,
    money_field,
)
from projects.models.digests import DeliveryStatus, DigestDelivery, DigestSubscription
from projects.models.evidence import DocumentKind, ProjectDocument, ReportPhoto
from projects.models.imports import HeaderSynonym, ImportBatch
from projects.models.investment import INVESTMENT_FIELDS, InvestmentLifecycle
from projects.models.leaders import Bulletin, RankingWeight
from projects.models.projects import (
    PLACING_FIELDS,
    PROJECT_CODE_RE,
    PROJECT_ORDER,
    AnnualPlan,
    MonthLight,
    Project,
    ProjectChildQuerySet,
    ProjectQuerySet,
    new_project_key,
    normalize_project_code,
    validate_project_code,
)
from projects.models.reporting import MonthlyReport, MonthlyReportQuerySet, Problem, ReportTransition
from projects.models.supervision import (
    Milestone,
    MilestoneKind,
    SupervisionItem,
    SupervisionItemQuerySet,
    SupervisionStep,
)
from projects.models.users import PersonScopedQuerySet, User

__all__ = [
    "Bulletin", "RankingWeight",
    "INVESTMENT_FIELDS", "InvestmentLifecycle", "AnnualPlan", "ApiToken", "AuditEvent", "Batch", "Cluster", "ClusterQuerySet", "DeliveryStatus", "DigestDelivery",
    "DigestSubscription", "HeaderSynonym", "Milestone", "MilestoneKind", "MonthLight", "SupervisionItem",
    "SupervisionItemQuerySet", "SupervisionStep", "ImportBatch", "Industry", "MONEY", "MonthlyReport", "MonthlyReportQuerySet",
    "PLACING_FIELDS", "PROJECT_CODE_RE", "PROJECT_ORDER", "PersonScopedQuerySet", "Problem", "Programme", "Project", "ProjectChildQuerySet",
    "ProjectQuerySet", "Region", "RegionQuerySet", "ReportTransition", "User", "WorkdayOverride",
    "money_field", "new_project_key",
    "DocumentKind", "ProjectDocument", "ReportPhoto", "normalize_project_code", "validate_project_code",
]
