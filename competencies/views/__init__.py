"""Views of the competencies app, one module per page family: ``scales``,
``library`` (categories and competencies) and ``sets``."""
