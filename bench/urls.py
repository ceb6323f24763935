"""The product's URLs with the benchmark's floor page (bench/floor.py) in front."""

from django.urls import path

from bench.floor import floor
from config.urls import handler500  # noqa: F401 - Django reads it from the root URLconf
from config.urls import urlpatterns as product

urlpatterns = [path("bench/floor/", floor, name="bench_floor"), *product]
