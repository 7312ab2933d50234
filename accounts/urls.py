"""Account pages, included at the site root by config/urls.py."""

from django.urls import URLPattern, path

from accounts import views

urlpatterns: list[URLPattern] = [
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-in/forgot/", views.sign_in_forgot, name="sign-in-forgot"),
    path("account/", views.account, name="account"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
