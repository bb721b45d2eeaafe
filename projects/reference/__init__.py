"""What a fresh installation is given: reference data (divisions, industries, clusters, action plans), the
beat schedules, and demo data for trying the platform."""
