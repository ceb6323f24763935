"""The PDFs report e-mails carried: kept for the organisation's retention period
(and never taken for orphans meanwhile), then deleted with the daily retention pass;
the e-mail rows stay as the delivery's record."""

from __future__ import annotations

import os
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from organizations.tenancy import tenant_context
from reporting.models import ReportDelivery, ReportEmail
from reporting.services import delete_expired_reports
from tests.reporting_factories import sent_delivery, subscription_for


def test_email_pdfs_are_deleted_after_the_retention_period_only(world):
    digest = subscription_for(world.hr)
    folder = f"reports/{world.org.pk}"
    old_name = default_storage.save(f"{folder}/old.pdf", ContentFile(b"%PDF-old"))
    young_name = default_storage.save(f"{folder}/young.pdf", ContentFile(b"%PDF-new"))
    old_delivery, old_email = sent_delivery(digest, world.hr, file=old_name)
    _young_delivery, young_email = sent_delivery(digest, world.hr, file=young_name)
    # The young file is older on disk than an orphan may be, yet an e-mail names it.
    two_days_ago = (timezone.now() - timedelta(days=2)).timestamp()
    os.utime(default_storage.path(young_name), (two_days_ago, two_days_ago))
    with tenant_context(world.org):
        ReportDelivery.objects.filter(pk=old_delivery.pk).update(
            created_at=timezone.now() - timedelta(days=31)
        )

        delete_expired_reports(organization=world.org)

        files = dict(ReportEmail.objects.values_list("pk", "file"))
    assert files == {old_email.pk: "", young_email.pk: young_name}
    assert not default_storage.exists(old_name)
    assert default_storage.exists(young_name)
