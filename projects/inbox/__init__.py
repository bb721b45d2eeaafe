"""The to-do inbox (待办, issue 26): what a user owes this month, each item a link to exactly its rows.

- reads.py: the items and their counts for a user (cached for the menu's badge);
- views.py: the inbox page and the page after login that chooses between it and the dashboard;
- urls.py: their URLs; context_processors.py: the menu's count."""
