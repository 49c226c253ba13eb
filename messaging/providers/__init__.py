"""The provider registry: one line per provider."""

from messaging.providers.bandwidth import BandwidthProvider
from messaging.providers.base import Provider
from messaging.providers.simulator import SimulatorProvider
from messaging.providers.telnyx import TelnyxProvider
from messaging.providers.twilio import TwilioProvider

PROVIDERS: dict[str, type[Provider]] = {
    SimulatorProvider.name: SimulatorProvider,
    TwilioProvider.name: TwilioProvider,
    TelnyxProvider.name: TelnyxProvider,
    BandwidthProvider.name: BandwidthProvider,
}


def provider_for(name: str) -> Provider:
    return PROVIDERS[name]()
