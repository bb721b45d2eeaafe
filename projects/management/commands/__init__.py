"""manage.py commands: reference and demo data, imports and exports, digests, supervision, recovery."""
