"""URLs under /o/<org_slug>/ for the competencies app."""

from django.urls import URLPattern, path

from competencies import views

app_name = "competencies"

urlpatterns: list[URLPattern] = [
    path("settings/scales/", views.ScaleListView.as_view(), name="scales"),
    path("settings/scales/new/", views.scale_create, name="scale_create"),
    path("settings/scales/<int:pk>/", views.scale_edit, name="scale_edit"),
    path(
        "settings/scales/<int:pk>/default/",
        views.scale_set_default,
        name="scale_set_default",
    ),
    path("settings/scales/<int:pk>/copy/", views.scale_copy, name="scale_copy"),
    path("competencies/", views.CompetencyListView.as_view(), name="competencies"),
    path("competencies/new/", views.competency_create, name="competency_create"),
    path("competencies/categories/", views.categories, name="categories"),
    path("competencies/<int:pk>/", views.competency_detail, name="competency_detail"),
    path("competencies/<int:pk>/edit/", views.competency_edit, name="competency_edit"),
    path(
        "competencies/<int:pk>/archive/",
        views.competency_archive,
        name="competency_archive",
    ),
    path(
        "competencies/<int:pk>/delete/",
        views.competency_delete,
        name="competency_delete",
    ),
    path("competency-sets/", views.competency_sets, name="competency_sets"),
    path(
        "competency-sets/<int:pk>/",
        views.competency_set_detail,
        name="competency_set_detail",
    ),
    path(
        "competency-sets/<int:pk>/items/",
        views.competency_set_item_add,
        name="competency_set_item_add",
    ),
    path(
        "competency-sets/<int:pk>/items/<int:item_pk>/",
        views.competency_set_item_update,
        name="competency_set_item_update",
    ),
    path(
        "competency-sets/<int:pk>/items/<int:item_pk>/remove/",
        views.competency_set_item_remove,
        name="competency_set_item_remove",
    ),
]
