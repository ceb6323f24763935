"""URLs under /o/<org_slug>/ for the organizations app."""

from django.urls import path

from organizations.views import (
    home,
    invitations,
    notifications,
    people,
    pickers,
    search,
    settings,
)

app_name = "organizations"

urlpatterns = [
    path("", home.home, name="home"),
    path("people/", people.PeopleListView.as_view(), name="people"),
    path("people/new/", people.EmployeeCreateView.as_view(), name="employee_create"),
    path("people/<int:pk>/", people.employee_detail, name="employee_detail"),
    path("people/<int:pk>/edit/", people.employee_edit, name="employee_edit"),
    path(
        "people/<int:pk>/active/",
        people.employee_set_active,
        name="employee_set_active",
    ),
    path("invitations/", invitations.invitations, name="invitations"),
    path(
        "invitations/<int:pk>/revoke/",
        invitations.invitation_revoke,
        name="invitation_revoke",
    ),
    path("pick/<slug:source>/", pickers.picker, name="picker"),
    path("search/", search.search, name="search"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path(
        "notifications/read/",
        notifications.notification_read_all,
        name="notification_read_all",
    ),
    path(
        "notifications/<int:pk>/open/",
        notifications.notification_open,
        name="notification_open",
    ),
    path("settings/", settings.organization_settings, name="settings"),
    path(
        "settings/background-work/",
        settings.background_work,
        name="background_work",
    ),
    path(
        "settings/business-units/",
        settings.BusinessUnitListView.as_view(),
        name="business_units",
    ),
    path(
        "settings/business-units/<int:pk>/",
        settings.BusinessUnitEditView.as_view(),
        name="business_unit_edit",
    ),
    path(
        "settings/job-titles/", settings.JobTitleListView.as_view(), name="job_titles"
    ),
    path(
        "settings/job-titles/<int:pk>/",
        settings.JobTitleEditView.as_view(),
        name="job_title_edit",
    ),
]
