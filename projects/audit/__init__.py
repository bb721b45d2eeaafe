"""The security audit trail (issue 22, the controls of a level-3 system): logins, failed logins and lockouts,
logouts, password and role changes, API token issue and revocation, every export and every import confirm,
kept as data (projects.models.AuditEvent) for AUDIT_RETENTION_DAYS and shown to the province only.

Rooms: `services` records and prunes, `signals` listens to Django, django-axes and the models, `messages`
words an event in the reader's language, `filtersets` selects for the admin (admin/audit.py) that shows and
exports it, `tasks` prunes daily.
"""
