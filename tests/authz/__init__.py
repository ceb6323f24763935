"""The authorisation matrix: every URL x every actor x own / foreign / missing object x
GET and POST, checked against the declared policy.

``policy.py`` is the language of the policy (actors, targets, outcomes, rows);
``policies/<app>.py`` each app's table, POST bodies and preparations, and ``table.py``
all of them joined. ``routes.py`` walks the URLconf; ``world.py`` (with
``world_engagements.py`` and ``world_reviews.py``) builds the two organisations every
case runs in, ``targets.py`` turns a target into URL kwargs, ``changes.py`` tells
whether a request changed anything and ``engine.py`` runs and compares the cases.
``test_policy.py`` holds the table against the URLconf (a named URL without a policy
entry fails the build); ``test_<app>.py`` runs each app's URLs.
"""
