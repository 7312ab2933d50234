"""The benches' URLconf: the product's URLs unchanged, plus three views that exist only here.

- ``/bench/ping/``: the trivial view (any method, no database, no auth), for scale;
- ``/bench/store-only/``: the floor of the webhook endpoint: the endpoint's own signature check and parsing, one
  ``WebhookEvent`` INSERT (``ON CONFLICT DO NOTHING``), commit; no task enqueued, no handler. The webhook bench
  compares what ``/webhooks/clerk/`` acknowledges per second against it;
- ``/api/bench/whoami/``: one DRF view, open to anyone, that reads ``request.user``: called with and without a session
  token it measures what authentication adds to a request.
"""

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.webhooks import _Rejected, _signing_webhook, _verify
from core.audit import client_ip
from core.models import WebhookEvent
from core.request_id import current_request_id
from core.text import without_nul


@csrf_exempt
def ping(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@csrf_exempt
@transaction.non_atomic_requests
def store_only(request: HttpRequest) -> HttpResponse:
    """Verify as the endpoint does, insert the event row once, commit: what no inbox can go below."""
    webhook = _signing_webhook()
    if webhook is None:
        return JsonResponse({"status": "not configured"}, status=503)
    try:
        svix_id, signed_at, payload = _verify(webhook, request, request.body)
    except _Rejected as rejected:
        return JsonResponse({"status": rejected.code}, status=rejected.status)
    data = payload["data"]
    object_id = data.get("id") if isinstance(data.get("id"), str) else ""
    event = WebhookEvent(
        svix_id=svix_id,
        type=payload["type"],
        object_id=object_id,
        status=WebhookEvent.Status.IGNORED,
        payload=without_nul(payload),
        signed_at=signed_at,
        request_id=current_request_id(),
        remote_ip=client_ip(request),
    )
    with transaction.atomic():
        stored = WebhookEvent.objects.insert_once(event)
    return JsonResponse({"status": "stored" if stored else "duplicate", "svix_id": svix_id})


class WhoAmI(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        return Response({"user": getattr(user, "pk", None)})


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/ping/", ping),
    path("bench/store-only/", store_only),
    path("api/bench/whoami/", WhoAmI.as_view()),  # under /api/: a JSON view, as the API is (no page gates)
    path("", include("config.urls")),
]
