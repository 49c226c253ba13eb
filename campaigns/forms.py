"""Forms of the portal screens."""

from django import forms
from django.db.models import QuerySet

from portal.models import Account


class LeadImportUploadForm(forms.Form):
    """A CSV of leads to import into one of the user's accounts, optionally into a list."""

    account = forms.ModelChoiceField(queryset=Account.objects.none())
    file = forms.FileField(
        label="CSV file",
        help_text="One lead per row with a phone column (Phone, Mobile, ...); any "
        "encoding and delimiter. Other columns become the lead's fields.",
    )
    list_name = forms.CharField(
        max_length=200,
        required=False,
        label="Add to list",
        help_text="Optional; the list is created if it does not exist.",
    )

    def __init__(self, *args, accounts: QuerySet[Account], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        if len(accounts) == 1:  # nothing to choose
            self.fields["account"].initial = accounts[0]
            self.fields["account"].widget = forms.HiddenInput()
