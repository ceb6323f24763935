"""Home page sections: evaluations to write and to approve (workflow workstream)."""
