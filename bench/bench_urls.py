"""The benches' URLconf: the product's URLs unchanged, plus two views that exist only here.

- ``/bench/ping/``: the trivial view the webhook bench compares against (any method, no database, no auth);
- ``/api/bench/whoami/``: one DRF view, open to anyone, that reads ``request.user``: called with and without a session
  token it measures what authentication adds to a request.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


@csrf_exempt
def ping(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


class WhoAmI(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        return Response({"user": getattr(user, "pk", None)})


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/ping/", ping),
    path("api/bench/whoami/", WhoAmI.as_view()),  # under /api/: a JSON view, as the API is (no page gates)
    path("", include("config.urls")),
]
