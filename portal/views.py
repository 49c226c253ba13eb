"""The gear menu's form: which dashboard widgets a user sees."""

from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.dashboard import hidden_widgets_set, widget_list
from portal.sites import GearForm


@require_POST
def dashboard_preferences(request: HttpRequest) -> HttpResponseRedirect:
    """Save the widgets left unchecked as hidden, then go back to the dashboard."""
    widgets = widget_list(request=request)
    form = GearForm(request.POST, choices=[(w.id, w.title) for w in widgets])
    if form.is_valid():
        shown = set(form.cleaned_data["shown"])
        hidden_widgets_set(
            user=request.user, hidden=[w.id for w in widgets if w.id not in shown]
        )
    return HttpResponseRedirect(reverse("portal:index"))
