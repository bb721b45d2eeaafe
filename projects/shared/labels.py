"""The names of catalogue rows (regions, actions, programmes) in the reader's language, as the summaries label their
rows: the English name in English mode where there is one, else the Chinese."""

from django.core.cache import cache
from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import translation

from actions.models import Action
from projects.models import Programme, Region
from projects.shared import versions


def localized(label_field):
    """An expression of the label `label_field` names in the reader's language: the English name in English mode
    (regions, actions and programmes have one, `<field>_en`), falling back to the Chinese."""
    if (translation.get_language() or "").startswith("en") and label_field.split("__")[-1] == "name":
        return Coalesce(NullIf(F(label_field + "_en"), Value("")), F(label_field))
    return F(label_field)


def catalogue_labels():
    """{"regions": {pk: (label, code)}, "actions": {pk: (label, number, plan pk)}, "programmes": {pk: (label, order)}}
    in the reader's language. Catalogue data, read once per epoch (which a catalogue's write moves) and language: a
    cold dashboard read them in three queries."""
    key = "projects:catalogue-labels:" + versions.catalogue_key("catalogue-labels", translation.get_language())
    labels = cache.get(key)
    if labels is None:
        labels = {
            "regions": {pk: (label, code) for pk, label, code in
                        Region.objects.order_by().values_list("pk", localized("name"), "code")},
            "actions": {pk: (label, number, plan) for pk, label, number, plan in
                        Action.objects.order_by().values_list("pk", localized("name"), "number", "plan_id")},
            "programmes": {pk: (label, order) for pk, label, order in
                           Programme.objects.order_by().values_list("pk", localized("name"), "order")},
        }
        cache.set(key, labels, versions.PIECE_CACHE_SECONDS)
    return labels
