"""``POST /v1/dev_browser``: a development browser, ClerkJS's client identity on a development instance.

ClerkJS calls it once per browser (no credentials), keeps ``id`` in the ``__clerk_db_jwt`` cookie on the app's
own domain, and sends it as the ``__clerk_db_jwt`` query parameter on every Frontend API call.
"""

from __future__ import annotations

from typing import Any

from clerk_emulator import records
from clerk_emulator.errors import ClerkAPIError
from clerk_emulator.fapi.routing import Call, route


@route("/v1/dev_browser", "POST", needs_dev_browser=False)
def create_dev_browser(call: Call) -> dict[str, Any]:
    em = call.em
    if em.production:
        raise ClerkAPIError(
            400, "dev_browser_not_supported", "Not a development instance", "This is a production instance."
        )
    browser = records.DevBrowser(id=em.new_id("dvb"), created_at=em.now_ms())
    em.dev_browsers[browser.id] = browser
    return {"object": "dev_browser", "id": browser.id, "instance_id": em.instance_id, "created_at": browser.created_at}
