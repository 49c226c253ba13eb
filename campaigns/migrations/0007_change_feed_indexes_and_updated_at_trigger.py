"""The change feed's indexes, and on PostgreSQL its updated_at trigger (portal/postgres.py)."""

from django.conf import settings
from django.db import migrations, models

from portal.postgres import touch_updated_at_operation

class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0006_deleted_leads_counted_from_launch'),
        ('messaging', '0005_messageexport'),
        ('portal', '0003_apitoken_idempotencykey'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='campaign',
            index=models.Index(fields=['account', 'updated_at', 'id'], name='campaign_feed_updated'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(fields=['account', 'updated_at', 'id'], name='lead_feed_account_updated'),
        ),
        touch_updated_at_operation(['campaigns_lead', 'campaigns_campaign']),
    ]
