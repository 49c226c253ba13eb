"""The composer's later steps and launch time, as form fields that work without JavaScript.

Each later step is a row of same-named inputs (steps-body, steps-delay,
steps-unit, steps-send_at), read in order; a blank row at the end adds a step
by typing in it. "Move up" and "Remove" are submit buttons naming a row: the
page comes back with the rows changed, nothing saved until "Save draft".
Times are typed in the account's time zone.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from campaigns.models import Campaign, CampaignStep

MAX_STEPS = 10  # a sequence of more texts than this is a spam complaint waiting
STEP_INPUTS = ("body", "delay", "unit", "send_at")
MOVE_UP, REMOVE = "_step_up", "_step_remove"
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


def local_input(value: datetime | None, zone: str) -> str:
    """A stored time as the account's zone's datetime-local input shows it."""
    if value is None:
        return ""
    return timezone.localtime(value, timezone=ZoneInfo(zone)).strftime(LOCAL_INPUT)


def parse_local(text: str, zone: str) -> datetime:
    """A typed datetime-local in the account's zone; ValueError if it is not one."""
    return datetime.strptime(text.strip(), LOCAL_INPUT).replace(tzinfo=ZoneInfo(zone))


def step_rows(campaign: Campaign) -> list[dict]:
    """The draft's later steps as the form's rows, as they would be typed."""
    zone = campaign.account.time_zone
    return [
        {
            "body": step.body,
            "delay": str(step.delay),
            "unit": step.delay_unit,
            "send_at": local_input(step.send_at, zone),
        }
        for step in campaign.steps.all()
    ]


class StepRowsWidget(forms.Widget):
    """Reads the rows (and a move or remove asked by a button); the page draws them."""

    def value_from_datadict(self, data, files, name) -> list[dict]:
        columns = [data.getlist(f"{name}-{key}") for key in STEP_INPUTS]
        rows = [
            dict(zip(STEP_INPUTS, values, strict=False))
            for values in zip(*columns, strict=False)
        ]
        rows = [
            row for row in rows if row.get("body", "").strip() or row.get("send_at")
        ]
        if data.get(MOVE_UP, "").isdigit():
            i = int(data[MOVE_UP])
            if 0 < i < len(rows):
                rows[i - 1], rows[i] = rows[i], rows[i - 1]
        if data.get(REMOVE, "").isdigit():
            i = int(data[REMOVE])
            if 0 <= i < len(rows):
                del rows[i]
        return rows


class StepsField(forms.Field):
    """Later steps: a body each, and a delay after the previous step or a fixed time."""

    widget = StepRowsWidget

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, **kwargs)
        self.zone = "UTC"  # the form sets the account's

    def clean(self, value) -> list[dict]:
        steps, errors = [], []
        units = {unit.value for unit in CampaignStep.Unit}
        for number, row in enumerate(value or [], start=2):
            label = f"Step {number}"
            delay = (row.get("delay") or "").strip()
            send_at = None
            if row.get("send_at"):
                try:
                    send_at = parse_local(row["send_at"], self.zone)
                except ValueError:
                    errors.append(f"{label}: the fixed time is not a date and time.")
            if not row.get("body", "").strip():
                errors.append(f"{label}: write its message, or remove the step.")
            if not delay.isdigit() and send_at is None:
                errors.append(
                    f"{label}: say how long after step {number - 1} it goes "
                    "(a whole number), or give it a fixed time."
                )
            if row.get("unit") not in units:
                errors.append(f"{label}: choose minutes, hours or days.")
            steps.append(
                {
                    "body": row.get("body", ""),
                    "delay": int(delay) if delay.isdigit() else 0,
                    "delay_unit": row.get("unit") or CampaignStep.Unit.DAYS,
                    "send_at": send_at,
                }
            )
        if len(steps) + 1 > MAX_STEPS:
            errors.append(f"A sequence has at most {MAX_STEPS} steps.")
        if errors:
            raise forms.ValidationError(errors)
        return steps


class ScheduleField(forms.CharField):
    """A launch time typed in the account's zone; blank: launched by hand."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"})

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, **kwargs)
        self.zone = "UTC"

    def prepare_value(self, value):
        if isinstance(value, datetime):
            return local_input(value, self.zone)
        return value

    def clean(self, value) -> datetime | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return parse_local(text, self.zone)
        except ValueError:
            raise forms.ValidationError(
                "Write the date and time as 2027-03-01 09:00."
            ) from None
