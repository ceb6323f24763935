"""Views of the organizations app, one module per page family: ``home`` (the site root,
the organisation home and the health probe), ``people`` (the directory),
``invitations`` (sending, withdrawing and accepting them), ``pickers`` (the search
boxes' JSON endpoint) and ``settings`` (the organisation's settings, business units and
job titles). ``base`` holds what they share.
"""
