"""Account pages: login, logout, password change and reset, invitation links."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse
from django.urls import path, reverse_lazy

from organizations.forms import LoginForm
from organizations.http import remember_language
from organizations.models import User
from organizations.views.invitations import invitation_accept


class LoginView(auth_views.LoginView):
    """Django's login, which also makes the member's language that of the pages
    outside an organisation (``remember_language``)."""

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        return remember_language(
            response, user.language if isinstance(user, User) else ""
        )


urlpatterns = [
    path(
        "login/",
        LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            success_url=reverse_lazy("password_change_done")
        ),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("invitations/<str:token>/", invitation_accept, name="invitation_accept"),
]
