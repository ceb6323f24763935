"""Receivers of the workflow: appraisals when a cycle enters review (workflow workstream)."""
