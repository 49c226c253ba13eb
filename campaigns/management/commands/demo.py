"""manage.py demo --leads N: a whole campaign on the simulator, headless, and what became of it."""

import json

from django.core.management.base import BaseCommand, CommandError

from campaigns.management.demo_run import demo_campaign_run


class Command(BaseCommand):
    help = (
        "Run a campaign of N throwaway leads through launch, dispatch and receipts "
        "on the simulated provider (the tasks run in this process), then print the "
        "messages per bucket, the errors by title, the credit charged and the seconds."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--leads", type=int, required=True, help="Leads to text.")
        parser.add_argument(
            "--seed",
            type=int,
            default=0,
            help="The simulator's seed for the run (message ids are random, so "
            "outcomes vary message by message, not in proportion).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object."
        )

    def handle(self, *args, leads: int, seed: int, **options) -> None:
        if leads < 1:
            raise CommandError("--leads must be at least 1.")
        report = demo_campaign_run(leads=leads, seed=seed)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        self.stdout.write(
            f"Campaign {report.campaign_id}: {report.leads} leads in "
            f"{report.seconds} s, {report.charged} credits charged."
        )
        for bucket, count in report.buckets.items():
            self.stdout.write(f"  {bucket:<18}{count:>8}")
        for title, count in report.errors.items():
            self.stdout.write(f"    {title:<40}{count:>6}")
        self.stdout.write(f"Sent twice: {report.duplicates_sent}. Lost: {report.lost}.")
