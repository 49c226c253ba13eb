"""The change feed misses nothing while writers commit out of time order (PostgreSQL).

Writers stamp updated_at when their transaction starts and commit a little
later, so a row often commits with a time earlier than one a poller has
already seen: the case a plain "updated_at > last seen" poll misses.
"""

import random
import threading
import time
from datetime import datetime, timedelta

import pytest

from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from messaging.models import Message
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 4
CHANGES_PER_WRITER = 40
# Each message changes once, so every change is one the poller must see.
MESSAGES = WRITERS * CHANGES_PER_WRITER


def _writer(ids: list[int], seed: int, stamp: bool) -> None:
    rng = random.Random(seed)
    try:
        for pk in ids:
            with transaction.atomic():
                fields = {"send_tries": F("send_tries") + 1}
                if stamp:  # the app's time, taken before the commit
                    fields["updated_at"] = timezone.now()
                Message.objects.filter(pk=pk).update(**fields)
                time.sleep(rng.uniform(0, 0.03))
    finally:
        connection.close()


def _poll(client: APIClient, url: str, cursor: str | None, seen: dict) -> str | None:
    """Read the feed from cursor until it has nothing more ready; return the cursor."""
    query = {"updated_after": "2000-01-01T00:00:00Z", "page_size": 7}
    while True:
        response = client.get(url, {**query, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.json()
        page = response.json()
        for row in page["results"]:
            seen[row["id"]] = datetime.fromisoformat(row["updated_at"])
        cursor = page["cursor"] or cursor
        if page["next"] is None:
            return cursor


def test_a_poller_following_the_cursor_sees_every_last_change(postgres, settings):
    # given: messages, a token, and writers that commit out of time order
    settings.API_FEED_SAFETY_SECONDS = 0  # the open transactions are the horizon
    account = factories.AccountFactory()
    campaign = factories.CampaignFactory(account=account)
    ids = [
        m.pk for m in factories.MessageFactory.create_batch(MESSAGES, campaign=campaign)
    ]
    from portal.api.auth import api_token_create

    _, key = api_token_create(account=account)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    url = reverse("api:message-list")
    writers = [
        threading.Thread(target=_writer, args=(ids[n::WRITERS], n, n % 2 == 0))
        for n in range(WRITERS)
    ]
    seen: dict[int, datetime] = {}
    cursor = None
    # when: a poller follows the feed while they write, and once after
    for writer in writers:
        writer.start()
    while any(writer.is_alive() for writer in writers):
        cursor = _poll(client, url, cursor, seen)
    for writer in writers:
        writer.join()
    cursor = _poll(client, url, cursor, seen)
    # then: every change was made, and the poller saw each message's last one
    tries = Message.objects.values_list("send_tries", flat=True)
    assert sum(tries) == WRITERS * CHANGES_PER_WRITER
    final = dict(Message.objects.values_list("pk", "updated_at"))
    missed = {pk: (seen.get(pk), at) for pk, at in final.items() if seen.get(pk) != at}
    assert missed == {}


@pytest.mark.django_db(transaction=False)
def test_every_update_moves_updated_at_whatever_the_code_wrote(postgres, campaign):
    message = factories.MessageFactory(campaign=campaign)
    before = message.updated_at
    # an UPDATE that forgets updated_at, and one that stamps a time long past
    Message.objects.filter(pk=message.pk).update(status="sending")
    forgot = Message.objects.get(pk=message.pk).updated_at
    Message.objects.filter(pk=message.pk).update(updated_at=before - timedelta(hours=1))
    stale = Message.objects.get(pk=message.pk).updated_at
    assert before < forgot < stale
