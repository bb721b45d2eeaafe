"""What every capability shares over the models: the light in SQL and its stored copy, summaries, the data
version behind cached pages, row locks, one FilterSet per model, and the writes that carry a project's version."""
