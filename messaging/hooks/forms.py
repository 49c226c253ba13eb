"""Forms of the webhook endpoint pages."""

from django import forms

from messaging.hooks.addresses import UrlRefused, hook_url_check
from messaging.hooks.models import HookEvent
from portal.forms import AccountScopedForm

# What an endpoint can pick; the test event is always sent.
EVENT_CHOICES = [
    (t.value, f"{t.label} ({t.value})")
    for t in HookEvent.Type
    if t != HookEvent.Type.TEST
]


class HookEndpointForm(AccountScopedForm):
    """A new endpoint: where to POST and which events."""

    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where your system receives the events: an https:// address.",
    )
    description = forms.CharField(
        max_length=200,
        required=False,
        help_text='What receives them, for your colleagues, e.g. "CRM sync".',
    )
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=[value for value, _ in EVENT_CHOICES],
    )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            hook_url_check(url)
        except UrlRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url


class HookReplayForm(forms.Form):
    """Send again everything since a time (in the account's time zone)."""

    since = forms.DateTimeField(
        label="Send again every event since",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
