"""What a fresh installation is given: reference data (divisions, industries, clusters, action plans), the
beat schedules, and demo data for trying the platform at scale.

- data.py: the reference data, from fixtures/ and ../shared/data; schedules.py: the beat schedules;
- demo.py: demo projects with their plans, reports, nodes and problems (`seed_demo`), drawn from the words
  in demo_words.py, for the users of demo_users.py, written with bulk.py (COPY, set-based deletes)."""
