"""Evidence (issue 26): site photos of a month's report and documents of a project — upload, validation
and re-encoding (files, services), the checks a reviewer sees (checks), reads for pages (reads), and the
pages and the only way files are served (views)."""
