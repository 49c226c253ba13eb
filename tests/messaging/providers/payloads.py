"""Every example payload of reference/providers.md, as the provider sends it.

Each status example is paired with the message it is about (the provider's
id it carries) and what the portal must conclude: canonical status and
catalog error code.
"""

# Twilio 1(b): status callback, "abridged; field order varies". The ids are
# the document's own abbreviations.
TWILIO_UNDELIVERED = {
    "SmsSid": "SM1f0e...",
    "SmsStatus": "undelivered",
    "MessageStatus": "undelivered",
    "To": "+15558675310",
    "MessagingServiceSid": "MG28...",
    "MessageSid": "SM1f0e...",
    "AccountSid": "AC...",
    "From": "+15017250604",
    "ApiVersion": "2010-04-01",
    "ErrorCode": "30003",
}

# Telnyx 2(b): message.finalized, failed.
TELNYX_FINALIZED_FAILED = {
    "data": {
        "event_type": "message.finalized",
        "id": "4ee8c3a6-4995-4309-a3c6-38e3db9ea4be",
        "occurred_at": "2019-12-09T21:32:14.148+00:00",
        "record_type": "event",
        "payload": {
            "id": "40385f64-...",
            "record_type": "message",
            "direction": "outbound",
            "type": "SMS",
            "from": {"phone_number": "+18445550001"},
            "to": [
                {
                    "phone_number": "+13125550002",
                    "status": "delivery_failed",
                    "carrier": "...",
                    "line_type": "Wireline",
                }
            ],
            "errors": [
                {
                    "code": "40001",
                    "title": "Not routable",
                    "detail": "The destination number is either a landline or a "
                    "non-routable wireless number.",
                }
            ],
            "completed_at": "2019-12-09T21:32:14.148+00:00",
            "cost": {"amount": "0.0051", "currency": "USD"},
        },
    },
    "meta": {"attempt": 1, "delivered_to": "https://example.com/webhooks/telnyx"},
}

# Bandwidth 3(b): message-failed, and "a delivered event looks the same with
# type message-delivered, description ok and no errorCode".
BANDWIDTH_FAILED = [
    {
        "type": "message-failed",
        "time": "2016-09-14T18:20:16Z",
        "description": "forbidden to country",
        "to": "+52345678903",
        "errorCode": 4432,
        "message": {
            "id": "14762070468292kw2fuqty55yp2b2",
            "time": "2016-09-14T18:20:16Z",
            "to": ["+12345678902", "+52345678903"],
            "from": "+12345678901",
            "text": "",
            "applicationId": "93de2206-...",
            "owner": "+12345678901",
            "direction": "out",
            "segmentCount": 1,
            "tag": "...",
        },
    }
]
BANDWIDTH_DELIVERED = [
    {key: value for key, value in BANDWIDTH_FAILED[0].items() if key != "errorCode"}
    | {"type": "message-delivered", "description": "ok"}
]

# (provider, payload, provider message id, status, error code)
STATUS_EXAMPLES = [
    ("twilio", TWILIO_UNDELIVERED, "SM1f0e...", "undelivered", "30003"),
    ("telnyx", TELNYX_FINALIZED_FAILED, "40385f64-...", "undelivered", "40001"),
    # 44xx: refused by Bandwidth itself, so failed, as the catalog says.
    ("bandwidth", BANDWIDTH_FAILED, "14762070468292kw2fuqty55yp2b2", "failed", "4432"),
    (
        "bandwidth",
        BANDWIDTH_DELIVERED,
        "14762070468292kw2fuqty55yp2b2",
        "delivered",
        None,
    ),
]


def twilio_inbound(body: str, *, sid: str = "SMin0001", sender_number: str) -> dict:
    """Twilio 1(c): an inbound text (the fields the document lists)."""
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC123",
        "From": "+13125550100",
        "To": sender_number,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "FromCountry": "US",
        "ApiVersion": "2010-04-01",
    }


def telnyx_inbound(body: str, *, sid: str = "in-0001", sender_number: str) -> dict:
    """Telnyx 2(c): message.received in the usual envelope."""
    return {
        "data": {
            "event_type": "message.received",
            "id": "evt-" + sid,
            "occurred_at": "2019-12-09T21:32:14.148+00:00",
            "record_type": "event",
            "payload": {
                "id": sid,
                "direction": "inbound",
                "type": "SMS",
                "from": {
                    "phone_number": "+13125550100",
                    "carrier": "T-MOBILE USA, INC.",
                    "line_type": "Wireless",
                },
                "to": [{"phone_number": sender_number, "status": "webhook_delivered"}],
                "text": body,
                "media": [],
                "messaging_profile_id": "4000eba1-0000-0000-0000-000000000000",
                "parts": 1,
            },
        },
        "meta": {"attempt": 1, "delivered_to": "https://example.com/webhooks/telnyx"},
    }


def bandwidth_inbound(body: str, *, sid: str = "in0001", sender_number: str) -> list:
    """Bandwidth 3(c): message-received, a JSON array."""
    return [
        {
            "type": "message-received",
            "time": "2016-09-14T18:20:16Z",
            "description": "Incoming message received",
            "to": sender_number,
            "message": {
                "id": sid,
                "time": "2016-09-14T18:20:16Z",
                "to": [sender_number],
                "from": "+13125550100",
                "text": body,
                "applicationId": "93de2206-0000-0000-0000-000000000000",
                "media": [],
                "owner": sender_number,
                "direction": "in",
                "segmentCount": 1,
            },
        }
    ]


INBOUND = {
    "twilio": twilio_inbound,
    "telnyx": telnyx_inbound,
    "bandwidth": bandwidth_inbound,
}
