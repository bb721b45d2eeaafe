"""The REST API (DRF): token authentication, one FilterSet per model, the same visibility rule as the pages."""
