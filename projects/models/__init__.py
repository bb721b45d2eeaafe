"""The projects app's models, one module per topic; everything is importable from here."""

from .api import ApiToken
from .audit import AuditEvent
from .calendar import WorkdayOverride
from .catalogue import MONEY, Batch, Cluster, ClusterQuerySet, Industry, Programme, Region, RegionQuerySet, money_field
from .digests import DeliveryStatus, DigestDelivery, DigestSubscription
from .imports import HeaderSynonym, ImportBatch
from .projects import (
    PROJECT_CODE_RE,
    PROJECT_ORDER,
    AnnualPlan,
    Project,
    ProjectChildQuerySet,
    ProjectQuerySet,
    new_project_key,
    normalize_project_code,
    validate_project_code,
)
from .reporting import MonthlyReport, MonthlyReportQuerySet, Problem, ReportTransition
from .supervision import Milestone, MilestoneKind, SupervisionItem, SupervisionItemQuerySet, SupervisionStep
from .users import PersonScopedQuerySet, User

__all__ = [
    "AnnualPlan", "ApiToken", "AuditEvent", "Batch", "Cluster", "ClusterQuerySet", "DeliveryStatus", "DigestDelivery",
    "DigestSubscription", "HeaderSynonym", "Milestone", "MilestoneKind", "SupervisionItem",
    "SupervisionItemQuerySet", "SupervisionStep", "ImportBatch", "Industry", "MONEY", "MonthlyReport", "MonthlyReportQuerySet",
    "PROJECT_CODE_RE", "PROJECT_ORDER", "PersonScopedQuerySet", "Problem", "Programme", "Project", "ProjectChildQuerySet",
    "ProjectQuerySet", "Region", "RegionQuerySet", "ReportTransition", "User", "WorkdayOverride",
    "money_field", "new_project_key", "normalize_project_code", "validate_project_code",
]
