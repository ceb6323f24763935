"""Models of the reporting app (see docs/architecture.md, "Reporting (planned)")."""
