"""Read queries of the engagements app, one module per concern: ``access`` (every
visibility definition and access gate), ``pages`` (page data), ``history``
(timelines) and ``competencies`` (scales and competency rows)."""
