"""The names of catalogue rows (regions, actions, programmes) in the reader's language, as the summaries label their
rows: the English name in English mode where there is one, else the Chinese."""

from django.core.cache import cache
from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import translation

from actions.models import Action
from projects.domain.names import local_name
from projects.models import Programme, Region
from projects.shared import versions


def localized(label_field):
    """An expression of the label `label_field` names in the reader's language, as names.local_name gives it in
    Python: the English name in English mode (regions, actions and programmes have one, `<field>_en`), falling back
    to the Chinese. For rows grouped in SQL by their label."""
    if (translation.get_language() or "").startswith("en") and label_field.split("__")[-1] == "name":
        return Coalesce(NullIf(F(label_field + "_en"), Value("")), F(label_field))
    return F(label_field)


def catalogue_labels():
    """{"regions": {pk: (label, code)}, "actions": {pk: (label, number, plan pk)}, "programmes": {pk: (label, order)}}
    in the reader's language (names.local_name). Catalogue data, read once per epoch (which a catalogue's write moves) and language: a
    cold dashboard read them in three queries."""
    key = "projects:catalogue-labels:" + versions.catalogue_key("catalogue-labels", translation.get_language())
    labels = cache.get(key)
    if labels is None:
        labels = {
            "regions": {region.pk: (local_name(region), region.code) for region in
                        Region.objects.order_by().only("name", "name_en", "code")},
            "actions": {action.pk: (local_name(action), action.number, action.plan_id) for action in
                        Action.objects.order_by().only("name", "name_en", "number", "plan")},
            "programmes": {programme.pk: (local_name(programme), programme.order) for programme in
                           Programme.objects.order_by().only("name", "name_en", "order")},
        }
        cache.set(key, labels, versions.PIECE_CACHE_SECONDS)
    return labels
