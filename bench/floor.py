"""The floor: the cheapest page this project can serve, to measure the others against.

One query (twenty content types, a table every database has and the application role
may read without an organisation) rendered as a twenty-row table by a template of its
own, through the project's whole middleware stack and settings (``bench.settings``
mounts it at /bench/floor/ in front of the product's URLs). It loads no session and no
user, so its time is what every request costs before a page does anything: the
middleware, one round trip to the database, the template engine and the response.
The product never serves it.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

ROWS = 20


def floor(request: HttpRequest) -> HttpResponse:
    """Twenty rows from one query, rendered. Cost: one query."""
    rows = list(
        ContentType.objects.order_by("pk").values_list("pk", "app_label", "model")[
            :ROWS
        ]
    )
    return render(request, "bench/floor.html", {"rows": rows})
