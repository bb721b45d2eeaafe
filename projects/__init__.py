"""The key-project tracker's Django app. The layout is by feature; README "Development" draws it."""
