"""Demo data for ``make run`` and the browser journeys, kept out of the production apps.

``demo.seed.seed_demo`` creates the organisations and people (``demo.people``), then
runs each app's seeder inside each organisation's tenant context, in the order written
in ``demo.seed.SEEDERS``. Every seeder is idempotent: ``seed_demo`` may run again.

``demo.scale`` builds a synthetic organisation of any size for benchmarks and scale
tests (``manage.py seed_scale``).
"""
