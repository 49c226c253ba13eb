"""Forms of the portal's opt-out pages."""

from django import forms

from portal.forms import AccountScopedForm, form_phone_to_e164


class OptOutForm(AccountScopedForm):
    """A number staff opt out (or back in) by hand, with the reason kept in the audit."""

    phone = forms.CharField(
        max_length=40, help_text="As people write it: (202) 555-0021."
    )
    detail = forms.CharField(
        max_length=200,
        required=False,
        label="Reason",
        help_text='Kept with who did it, e.g. "Asked by phone not to be texted".',
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("account") is not None:
            form_phone_to_e164(self, account=data["account"])
        return data


class OptOutImportForm(AccountScopedForm):
    """A file of numbers to opt out, one a line (the first column of a CSV)."""

    file = forms.FileField(
        label="File of numbers",
        help_text="One number a line, or a CSV whose first column is the number; "
        "a header line is skipped.",
    )
