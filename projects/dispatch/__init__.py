"""The monthly dispatch cycle (月度调度): entries and their checks, submit, review, reminders, and the report
and review pages.

- reports.py: entries, checks, submitting and reviewing (the state machine);
- reminders.py: who still owes a report, and the reminders before and after the deadline (催报);
- mail.py: the reminder, overdue and returned-report mails;
- views.py: the report page (月度填报) and the review page (审核)."""
