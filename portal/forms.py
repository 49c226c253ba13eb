"""Form parts shared by the portal's screens."""

from django import forms
from django.db.models import QuerySet

from portal.models import Account
from portal.phones import phone_parse


class AccountScopedForm(forms.Form):
    """A form for one of the user's accounts; with a single account there is nothing to choose."""

    account = forms.ModelChoiceField(queryset=Account.objects.none())

    def __init__(self, *args, accounts: QuerySet[Account], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        self.single_account = accounts[0] if len(accounts) == 1 else None
        if self.single_account is not None:
            self.fields["account"].initial = self.single_account.pk
            self.fields["account"].widget = forms.HiddenInput()
            self.fields["account"].required = False

    def clean_account(self) -> Account | None:
        return self.cleaned_data.get("account") or self.single_account

    def whose(self, obj) -> str:
        """With several accounts, each choice says whose it is."""
        return "" if self.single_account else f" ({obj.account.name})"


def form_phone_to_e164(
    form: forms.Form, *, account: Account, name: str = "phone"
) -> None:
    """Read the typed number of a cleaned form in the account's region: E.164, or the error."""
    if name not in form.cleaned_data:
        return
    parsed = phone_parse(form.cleaned_data[name], region=account.default_country)
    if parsed.e164 is None:
        form.add_error(name, f"This is not a phone number ({parsed.reason}).")
    else:
        form.cleaned_data[name] = parsed.e164
