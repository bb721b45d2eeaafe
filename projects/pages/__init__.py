"""The pages for people who never open the admin, one module each: dashboard, project list (and export),
project page, eight-actions page, profile. Every page reads through `Project.objects.visible_to(user)` and
filters through ProjectFilterSet, so a drill-down link means exactly what the list shows. The dispatch
cycle's and supervision's pages are in their own rooms (dispatch/, supervision/)."""
