"""The pg_trgm extension, for the navigation's search (``organizations.search``):
``word_similarity`` finds names close to what was typed ("Jonh" finds "John").

No trigram index comes with it: under row-level security PostgreSQL evaluates
functions that are not leakproof only after the policy, so no index could serve the
search (see 0004). pg_trgm is a trusted extension, so the database's owner, who runs
migrations, may create it. Other databases skip this operation.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0008_languages"),
    ]

    operations = [TrigramExtension()]
