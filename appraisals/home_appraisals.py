"""Home page sections: the member's own appraisals (appraisal-pages workstream)."""
