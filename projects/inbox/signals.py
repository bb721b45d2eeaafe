"""What the inbox keeps on write (issue 24): a write's places, once committed, count what they owe there and then."""

from django.dispatch import receiver

from projects.inbox.reads import owed_kept_on_write
from projects.shared import versions


@receiver(versions.places_written, dispatch_uid="projects.inbox.owed_kept_on_write")
def owed_counted_on_write(places, **_kwargs):
    owed_kept_on_write(places)
