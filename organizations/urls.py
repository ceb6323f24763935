"""URLs under /o/<org_slug>/ for the organizations app."""

from django.urls import path

from organizations import views

app_name = "organizations"

urlpatterns = [
    path("", views.home, name="home"),
    path("people/", views.PeopleListView.as_view(), name="people"),
    path("people/new/", views.EmployeeCreateView.as_view(), name="employee_create"),
    path("people/<int:pk>/", views.employee_detail, name="employee_detail"),
    path("people/<int:pk>/edit/", views.employee_edit, name="employee_edit"),
    path(
        "people/<int:pk>/active/", views.employee_set_active, name="employee_set_active"
    ),
    path("invitations/", views.invitations, name="invitations"),
    path(
        "invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("settings/", views.organization_settings, name="settings"),
    path(
        "settings/business-units/",
        views.BusinessUnitListView.as_view(),
        name="business_units",
    ),
    path(
        "settings/business-units/<int:pk>/",
        views.BusinessUnitEditView.as_view(),
        name="business_unit_edit",
    ),
    path("settings/job-titles/", views.JobTitleListView.as_view(), name="job_titles"),
    path(
        "settings/job-titles/<int:pk>/",
        views.JobTitleEditView.as_view(),
        name="job_title_edit",
    ),
]
