"""The audit trail: who did what to which object, kept in Django admin's LogEntry.

LogEntry already holds the user, the object (content type, id and name), the
time and a message, and the admin shows it per object ("History"); support
reads every entry on /support/admin/logentry/. A separate model would repeat it.
"""

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    obj: Model,
    message: str,
    flag: int = CHANGE,
) -> None:
    """Record that the user acted on the object; nothing when no user acted (a sweep)."""
    if actor is None or not actor.is_authenticated:
        return
    LogEntry.objects.log_actions(
        user_id=actor.pk,
        queryset=[obj],
        action_flag=flag,
        change_message=message,
        single_object=True,
    )
