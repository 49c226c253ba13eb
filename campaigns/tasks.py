"""Celery tasks of the campaigns app (import-light: they call one service)."""

from celery import shared_task


@shared_task(name="campaigns.import_leads", soft_time_limit=3600, time_limit=3660)
def import_leads_task(import_id: int) -> None:
    """Run a lead import; a finished or failed import is left as it is."""
    from campaigns.imports import lead_import_run

    lead_import_run(import_id=import_id)


@shared_task(name="campaigns.fail_stalled_imports", soft_time_limit=60, time_limit=90)
def fail_stalled_imports_task() -> int:
    """Fail the lead imports whose worker vanished; publish the waiting ones again."""
    from campaigns.imports import lead_imports_fail_stalled

    return lead_imports_fail_stalled()


# A fan-out of a million leads streams them; give it half an hour.
@shared_task(name="campaigns.fan_out", soft_time_limit=1800, time_limit=1900)
def fan_out_campaign_task(campaign_id: int) -> int:
    """Turn a launched campaign's leads into messages (resumable, idempotent)."""
    from campaigns.fan_out import campaign_fan_out

    return campaign_fan_out(campaign_id=campaign_id)


@shared_task(name="campaigns.resume_fan_outs", soft_time_limit=60, time_limit=90)
def resume_fan_outs_task() -> int:
    """Publish again the fan-outs a broker outage or a lost worker left without progress."""
    from campaigns.fan_out import campaigns_resume_fan_outs

    return campaigns_resume_fan_outs()


@shared_task(name="campaigns.refresh_states", soft_time_limit=60, time_limit=90)
def refresh_campaign_states_task() -> int:
    """Mark campaigns in progress or done from their messages."""
    from campaigns.services import campaigns_close, campaigns_mark_in_progress

    return campaigns_mark_in_progress() + campaigns_close()


@shared_task(name="campaigns.sweep_alerts", soft_time_limit=50, time_limit=60)
def sweep_alerts_task() -> dict[str, int]:
    """Raise the delivery alerts whose condition holds; clear those that ended."""
    from campaigns.alerts import alerts_sweep

    return alerts_sweep()


@shared_task(name="campaigns.send_due_steps", soft_time_limit=600, time_limit=660)
def send_due_steps_task() -> int:
    """Fan out the later steps of sequences that are now due (and new leads' first)."""
    from campaigns.steps import campaigns_send_due_steps

    return campaigns_send_due_steps()


@shared_task(name="campaigns.launch_scheduled", soft_time_limit=600, time_limit=660)
def launch_scheduled_task() -> int:
    """Launch the scheduled campaigns whose time has come."""
    from campaigns.schedule import campaigns_launch_scheduled

    return campaigns_launch_scheduled()
