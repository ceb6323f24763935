"""The exports: the datasets a member can download as CSV or XLSX, and their
registry. ``registry`` is where to look a dataset up and to register a new one
(``registry.register``); ``base`` holds the shapes and value helpers the datasets
share; the built-in datasets live by aggregate in ``appraisals``, ``goals`` and
``feedback``."""
