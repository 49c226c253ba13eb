"""One step's message checked against the leads of a launch check (campaigns/launch.py)."""

from campaigns.fan_out import BodyRenderer
from campaigns.models import full_name
from messaging.outbound import MAX_BODY_CHARS
from messaging.segments import segment_count

MISSING_LEADS_SHOWN = 5


class StepTally:
    """One step's body checked against the leads: its segments and the leads it cannot fill."""

    def __init__(self, *, number: int, body: str, field_defaults: dict[str, str]):
        self.number = number
        self.body = body
        self.problems: list[str] = []
        self.missing: list[str] = []
        self.segments = 0
        self.label = f"Step {number}: " if number > 1 else ""
        if not body.strip():
            self.problems.append(f"{self.label}Write the message: the body is empty.")
        elif len(body) > MAX_BODY_CHARS:
            self.problems.append(
                f"{self.label}The message is {len(body)} characters; providers "
                f"accept at most {MAX_BODY_CHARS}."
            )
        try:
            self.renderer: BodyRenderer | None = BodyRenderer(body, field_defaults)
        except ValueError:
            self.renderer = None
            self.problems.append(
                f"{self.label}The message has an unmatched {{ or }}: write {{{{ or }}}} "
                "for a brace."
            )
        # Without merge fields every message is the body: count its segments once.
        self.fixed = (
            None
            if self.renderer and self.renderer.fields
            else segment_count(body).segments
        )

    def add(self, *, first: str, last: str, phone: str, custom: dict) -> str | None:
        """Count one texted lead's message; return it filled in (None if it cannot be)."""
        rendered = self.renderer and self.renderer.render(
            first_name=first, last_name=last, phone=phone, custom=custom
        )
        if rendered is None:
            # Sent as written if launched anyway (the fan-out does the same).
            self.missing.append(full_name(first, last) or phone)
        self.segments += (
            self.fixed
            if self.fixed is not None
            else segment_count(rendered or self.body).segments
        )
        return rendered

    def field_problems(self, known: set[str]) -> list[str]:
        unknown = (self.renderer.fields if self.renderer else set()) - known
        if unknown:
            return [
                f"{self.label}Unknown fields in the message: "
                + ", ".join(f"{{{f}}}" for f in sorted(unknown))
                + ". Use first_name, last_name, name, phone or a field your leads have."
            ]
        if self.missing:
            shown = ", ".join(self.missing[:MISSING_LEADS_SHOWN])
            more = (
                f" and {len(self.missing) - MISSING_LEADS_SHOWN} more"
                if len(self.missing) > MISSING_LEADS_SHOWN
                else ""
            )
            return [
                f"{self.label}{len(self.missing)} lead(s) lack a field the message "
                f"uses ({shown}{more}): fill it in or declare a default for it."
            ]
        return []
