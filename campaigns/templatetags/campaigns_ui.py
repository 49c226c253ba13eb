"""Campaign screens' template tags: the dashboard help for the Bulk Sequences widget."""

from django import template

from campaigns.widgets import bulk_sequences_help

register = template.Library()

register.simple_tag(bulk_sequences_help, name="bulk_sequences_help")
