"""Forms of the portal screens."""

from django import forms
from django.db.models import Count, QuerySet

from campaigns.models import Campaign, CampaignStep, Lead, LeadList
from campaigns.sequence_forms import ScheduleField, StepsField, step_rows
from messaging.models import Sender
from portal.forms import AccountScopedForm, form_phone_to_e164
from portal.models import Account, time_zone_names


class LeadImportUploadForm(AccountScopedForm):
    """A CSV of leads to import into one of the user's accounts, optionally into a list."""

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


class ReplyForm(forms.Form):
    """A reply to one lead: the text, and which of the account's senders it goes from."""

    sender = forms.TypedChoiceField(coerce=int, label="From")
    body = forms.CharField(
        label="Your reply",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self, *args, senders: list[Sender], initial_sender: Sender | None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sender"].choices = [(s.pk, str(s)) for s in senders]
        self.fields["sender"].initial = initial_sender.pk if initial_sender else None
        # With one sender there is nothing to choose: the page names it instead.
        self.only_sender = senders[0] if len(senders) == 1 else None
        if self.only_sender:
            self.fields["sender"].widget = forms.HiddenInput()


class FieldLinesField(forms.CharField):
    """Lead fields typed one per line as "field = value" (a dict of texts)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, *, example: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.example = example

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{name} = {text}" for name, text in value.items())
        return value

    def to_python(self, value) -> dict[str, str]:
        defaults: dict[str, str] = {}
        for number, line in enumerate((value or "").splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, text = line.partition("=")
            name = name.strip().strip("{}").strip()
            if not sep or not name:
                raise forms.ValidationError(
                    f'Line {number}: write "field = value", e.g. "{self.example}".'
                )
            defaults[name] = text.strip()
        return defaults


class CampaignForm(AccountScopedForm):
    """The composer: a draft campaign's fields, its choices scoped to the user's accounts."""

    name = forms.CharField(max_length=200)
    sender = forms.ModelChoiceField(
        queryset=Sender.objects.none(),
        required=False,
        empty_label="Choose a sender…",
        help_text="The number the texts come from.",
    )
    lists = forms.ModelMultipleChoiceField(
        queryset=LeadList.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Send to these lists",
        help_text="A lead in several lists gets one message.",
    )
    body = forms.CharField(
        required=False,
        label="Message",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Lead fields in braces are filled in for each lead: Hi {first_name}!",
    )
    field_defaults = FieldLinesField(
        example="first_name = friend",
        required=False,
        label="Defaults for missing fields",
        help_text='One per line, used when a lead lacks the field: "first_name = friend".',
    )
    steps = StepsField(label="Later steps")
    stop_on_reply = forms.BooleanField(
        required=False, label="the lead replies", initial=True, label_suffix=""
    )
    stop_on_opt_out = forms.BooleanField(
        required=False, label="the lead opts out", initial=True, label_suffix=""
    )
    stop_on_permanent_error = forms.BooleanField(
        required=False,
        label="a text to the lead hits a permanent error (such as a landline)",
        initial=True,
        label_suffix="",
    )
    include_new_leads = forms.BooleanField(
        required=False,
        label="Also send to new leads of these lists",
        help_text="Leads who join the lists after the launch get the sequence too, "
        "until the campaign is done. Without it they are not texted.",
        label_suffix="",
    )
    scheduled_at = ScheduleField(
        label="Launch at",
        help_text="Blank: you launch it from its page. A time: it launches by "
        "itself then, and stays a draft you can edit or unschedule until then.",
    )
    confirm_warnings = forms.BooleanField(
        required=False,
        label="I have read the launch check's warnings; launch at that time anyway",
        label_suffix="",
    )
    validity_hours = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=72,
        label="Validity (hours)",
        help_text="A message not sent within this time expires. Blank: the account's "
        "setting.",
    )
    test_phone = forms.CharField(
        required=False,
        max_length=40,
        label="Your mobile number",
        help_text="Gets one text, as the sample lead would.",
    )

    def __init__(
        self, data=None, *, accounts: QuerySet[Account], campaign: Campaign | None
    ) -> None:
        initial = None
        if campaign is not None and data is None:  # a draft opened for editing
            initial = {
                "account": campaign.account_id,
                "name": campaign.name,
                "sender": campaign.sender_id,
                "lists": [lead_list.pk for lead_list in campaign.lists.all()],
                "body": campaign.body,
                "field_defaults": campaign.field_defaults,
                "validity_hours": campaign.validity_hours,
                "steps": step_rows(campaign),
                "stop_on_reply": campaign.stop_on_reply,
                "stop_on_opt_out": campaign.stop_on_opt_out,
                "stop_on_permanent_error": campaign.stop_on_permanent_error,
                "include_new_leads": campaign.include_new_leads,
                "scheduled_at": campaign.scheduled_at,
                # Its warnings were confirmed when it was scheduled.
                "confirm_warnings": campaign.scheduled_at is not None,
            }
        super().__init__(data, initial=initial, accounts=accounts)
        zone = self.zone(campaign, data)
        self.fields["steps"].zone = self.fields["scheduled_at"].zone = zone
        self.time_zone = zone
        account_ids = [a.pk for a in accounts]
        self.fields["sender"].queryset = (
            Sender.objects.filter(account__in=account_ids, is_active=True)
            .select_related("account")
            .order_by("name", "pk")
        )
        self.fields["lists"].queryset = (
            LeadList.objects.filter(account__in=account_ids)
            .select_related("account")
            # Every member, as the lead lists page counts them; the check says
            # which of them will not be texted and why (deleted ones too).
            .annotate(lead_count=Count("leads"))
            .order_by("name", "pk")
        )
        self.fields["lists"].label_from_instance = lambda lead_list: (
            f"{lead_list.name} ({lead_list.lead_count} leads){self.whose(lead_list)}"
        )
        self.fields["sender"].label_from_instance = lambda sender: (
            f"{sender.name} ({sender.phone_number})" if sender.name else str(sender)
        ) + self.whose(sender)

    def zone(self, campaign: Campaign | None, data) -> str:
        """The account's time zone, in which times are typed and shown."""
        if campaign is not None:
            return campaign.account.time_zone
        account = self.single_account
        if account is None and data is not None:
            chosen = str(data.get("account", ""))
            account = next(
                (a for a in self.fields["account"].queryset if str(a.pk) == chosen),
                None,
            )
        return account.time_zone if account else "UTC"

    unit_choices = CampaignStep.Unit.choices

    def step_rows(self) -> list[dict]:
        """The later steps to draw, as typed (or saved), and a blank one to add a step."""
        rows = list(self["steps"].value() or [])
        if not self.fields["steps"].disabled:
            rows.append({"body": "", "delay": "1", "unit": "days", "send_at": ""})
        return [
            {**row, "number": number, "index": number - 2}
            for number, row in enumerate(rows, start=2)
        ]

    def stop_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name in ("stop_on_reply", "stop_on_opt_out", "stop_on_permanent_error")
        ]

    def clean(self) -> dict:
        data = super().clean()
        account = data.get("account")
        if account is None:
            return data
        sender = data.get("sender")
        if sender is not None and sender.account_id != account.pk:
            self.add_error("sender", "Choose a sender of the campaign's account.")
        if any(
            lead_list.account_id != account.pk for lead_list in data.get("lists", [])
        ):
            self.add_error("lists", "Choose lists of the campaign's account.")
        return data

    def campaign_data(self) -> dict:
        """The cleaned fields as the campaign services take them."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "sender": data["sender"],
            "lists": list(data["lists"]),
            "body": data["body"],
            "field_defaults": data["field_defaults"],
            "validity_hours": data["validity_hours"],
            "steps": data["steps"],
            "stop_on_reply": data["stop_on_reply"],
            "stop_on_opt_out": data["stop_on_opt_out"],
            "stop_on_permanent_error": data["stop_on_permanent_error"],
            "include_new_leads": data["include_new_leads"],
        }


class LeadForm(AccountScopedForm):
    """A lead as staff type it: the number as people write it, fields, lists."""

    phone = forms.CharField(
        max_length=40,
        help_text="As people write it: (202) 555-0021, or +44 20 7946 0018 abroad.",
    )
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    fields = FieldLinesField(
        example="city = Boston",
        required=False,
        label="Custom fields",
        help_text='One per line, "field = value"; a message uses it as {city}.',
    )
    time_zone = forms.ChoiceField(
        required=False,
        label="Time zone",
        help_text="Where the lead lives: texts reach them only inside your sending "
        "hours there. Blank: from the number's area code.",
    )
    lists = forms.ModelMultipleChoiceField(
        queryset=LeadList.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Campaigns sent to these lists text this lead.",
    )

    def __init__(
        self, data=None, *, accounts: QuerySet[Account], lead: Lead | None
    ) -> None:
        initial = None
        if lead is not None:
            initial = {
                "account": lead.account_id,
                "phone": lead.phone,
                "first_name": lead.first_name,
                "last_name": lead.last_name,
                "fields": lead.fields,
                "time_zone": lead.time_zone,
                "lists": [lead_list.pk for lead_list in lead.lists.all()],
            }
        super().__init__(data, initial=initial, accounts=accounts)
        self.fields["time_zone"].choices = [("", "From the number")] + [
            (name, name) for name in time_zone_names()
        ]
        self.lead = lead
        if lead is not None:  # a lead stays in its account
            self.fields["account"].disabled = True
        self.fields["lists"].queryset = (
            LeadList.objects.filter(
                account__in=[lead.account_id] if lead else [a.pk for a in accounts]
            )
            .select_related("account")
            .order_by("name", "pk")
        )
        self.fields["lists"].label_from_instance = lambda lead_list: (
            f"{lead_list.name}{self.whose(lead_list)}"
        )

    def clean(self) -> dict:
        data = super().clean()
        account = self.lead.account if self.lead else data.get("account")
        if account is None:
            return data
        form_phone_to_e164(self, account=account)
        if any(
            lead_list.account_id != account.pk for lead_list in data.get("lists", [])
        ):
            self.add_error("lists", "Choose lists of the lead's account.")
        data["account"] = account
        return data

    def lead_data(self) -> dict:
        """The cleaned fields as lead_create and lead_update take them."""
        data = self.cleaned_data
        return {
            "phone": data["phone"],
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "fields": data["fields"],
            "time_zone": data["time_zone"],
            "lists": list(data["lists"]),
        }


class LeadListChoiceForm(forms.Form):
    """The list an action adds the selected leads to or takes them out of."""

    lead_list = forms.ModelChoiceField(
        queryset=LeadList.objects.none(), label="List", empty_label="Choose a list…"
    )

    def __init__(self, *args, lists: QuerySet[LeadList], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead_list"].queryset = lists
