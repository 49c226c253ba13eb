"""Each provider's API as the local fakes speak it: paths, answers, refusals."""

import json
import uuid
from collections import Counter

from werkzeug import Request, Response

MESSAGE_UUID = str(uuid.UUID(int=7))
SENDER_UUID = str(uuid.UUID(int=9))

# Success bodies from reference/providers.md, as each API answers a send.
TWILIO_CREATED = {
    "account_sid": "AC123",
    "api_version": "2010-04-01",
    "body": "Hello",
    "date_created": "Thu, 30 Jul 2015 20:12:31 +0000",
    "date_sent": None,
    "direction": "outbound-api",
    "error_code": None,
    "error_message": None,
    "from": "+15017122661",
    "num_media": "0",
    "num_segments": "1",
    "price": None,
    "price_unit": "USD",
    "sid": "SM0123456789abcdef",
    "status": "queued",
    "to": "+15558675310",
    "uri": "/2010-04-01/Accounts/AC123/Messages/SM0123456789abcdef.json",
}
TELNYX_OK = {
    "data": {
        "record_type": "message",
        "direction": "outbound",
        "id": "40385f64-5717-4562-b3fc-2c963f66afa6",
        "type": "SMS",
        "from": {"phone_number": "+18445550001", "carrier": "TELNYX LLC"},
        "to": [{"phone_number": "+15558675310", "status": "queued"}],
        "text": "Hello",
        "parts": 1,
        "errors": [],
    }
}
BANDWIDTH_ACCEPTED = {
    "id": "14762070468292kw2fuqty55yp2b2",
    "owner": "+15017122661",
    "applicationId": "93de2206-0000-0000-0000-000000000000",
    "time": "2021-07-21T21:00:45.179Z",
    "segmentCount": 1,
    "direction": "out",
    "to": ["+15558675310"],
    "from": "+15017122661",
    "text": "Hello",
    "tag": MESSAGE_UUID,
    "priority": "default",
}
PATHS = {
    "twilio": "/2010-04-01/Accounts/AC123/Messages.json",
    "telnyx": "/v2/messages",
    "bandwidth": "/api/v2/users/9900000/messages",
}
SETTING = {
    "twilio": "TWILIO_API_URL",
    "telnyx": "TELNYX_API_URL",
    "bandwidth": "BANDWIDTH_API_URL",
}
ACCEPTED = {
    "twilio": (201, TWILIO_CREATED, TWILIO_CREATED["sid"], "queued"),
    "telnyx": (200, TELNYX_OK, TELNYX_OK["data"]["id"], "queued"),
    "bandwidth": (202, BANDWIDTH_ACCEPTED, BANDWIDTH_ACCEPTED["id"], "accepted"),
}
# Synchronous refusals in each provider's error shape, and the code kept.
REFUSED = {
    "twilio": (
        400,
        {
            "code": 21610,
            "message": "Attempt to send to unsubscribed recipient",
            "more_info": "https://www.twilio.com/docs/errors/21610",
            "status": 400,
        },
        "21610",
    ),
    "telnyx": (
        409,
        {
            "errors": [
                {
                    "code": "40300",
                    "title": "Blocked due to STOP message",
                    "detail": "Messages cannot be sent due to a block rule.",
                }
            ]
        },
        "40300",
    ),
    "bandwidth": (
        400,
        {
            "type": "request-validation",
            "description": "bad to",
            "fieldErrors": [{"fieldName": "to", "description": "invalid"}],
        },
        "http_400",
    ),
}


def provider_id(provider: str, phone: str, nth: int = 1) -> str:
    """The id the fake API gives the nth message it accepts for phone."""
    prefix = {"twilio": "SM", "telnyx": "tx-", "bandwidth": "bw"}[provider]
    return prefix + phone[1:] + (f"-{nth}" if nth > 1 else "")


def accept_each(provider: str):
    """A fake API handler accepting every send, with an id of its own per message."""
    code, body, _, _ = ACCEPTED[provider]
    sends: Counter[str] = Counter()

    def handler(request: Request) -> Response:
        if provider == "twilio":
            to = request.form["To"]
        elif provider == "telnyx":
            to = request.get_json()["to"]
        else:
            to = request.get_json()["to"][0]
        sends[to] += 1
        sid = provider_id(provider, to, sends[to])
        if provider == "twilio":
            answer = body | {"sid": sid, "to": to}
        elif provider == "telnyx":
            data = body["data"] | {"id": sid}
            answer = {"data": data | {"to": [{"phone_number": to, "status": "queued"}]}}
        else:
            answer = body | {"id": sid, "to": [to]}
        return Response(
            json.dumps(answer), status=code, content_type="application/json"
        )

    return handler
