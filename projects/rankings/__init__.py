"""Rankings (排名, issue 28): cities and counties ranked each month on the province's indicators and weights."""
