"""URLs under /o/<org_slug>/ for the competencies app."""

from django.urls import URLPattern, path

from competencies.views import library, scales, sets

app_name = "competencies"

urlpatterns: list[URLPattern] = [
    path("settings/scales/", scales.ScaleListView.as_view(), name="scales"),
    path("settings/scales/new/", scales.scale_create, name="scale_create"),
    path("settings/scales/<int:pk>/", scales.scale_edit, name="scale_edit"),
    path(
        "settings/scales/<int:pk>/default/",
        scales.scale_set_default,
        name="scale_set_default",
    ),
    path("settings/scales/<int:pk>/copy/", scales.scale_copy, name="scale_copy"),
    path("competencies/", library.CompetencyListView.as_view(), name="competencies"),
    path("competencies/new/", library.competency_create, name="competency_create"),
    path("competencies/categories/", library.categories, name="categories"),
    path("competencies/<int:pk>/", library.competency_detail, name="competency_detail"),
    path(
        "competencies/<int:pk>/edit/", library.competency_edit, name="competency_edit"
    ),
    path(
        "competencies/<int:pk>/archive/",
        library.competency_archive,
        name="competency_archive",
    ),
    path(
        "competencies/<int:pk>/delete/",
        library.competency_delete,
        name="competency_delete",
    ),
    path("competency-sets/", sets.competency_sets, name="competency_sets"),
    path(
        "competency-sets/<int:pk>/",
        sets.competency_set_detail,
        name="competency_set_detail",
    ),
    path(
        "competency-sets/<int:pk>/items/",
        sets.competency_set_item_add,
        name="competency_set_item_add",
    ),
    path(
        "competency-sets/<int:pk>/items/<int:item_pk>/",
        sets.competency_set_item_update,
        name="competency_set_item_update",
    ),
    path(
        "competency-sets/<int:pk>/items/<int:item_pk>/remove/",
        sets.competency_set_item_remove,
        name="competency_set_item_remove",
    ),
]
