"""Supervision (督办): items opened by the daily run or by hand, climbing county → city → province → 包联
leader on working days, answered and closed by the level that must act; and the project's nodes (节点).

- services.py: levels, the daily run, escalation and its mail, opening, answering and closing by hand;
- signoff.py: closure requested, signed off or returned, urged, escalated by hand, reopened, extended (issue 27);
- milestones.py: saving a project's node dates;
- forms.py, views.py: the 督办 list and item pages."""
