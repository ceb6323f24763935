"""Domain events other apps may react to (they depend on us, never the reverse)."""

from django.dispatch import Signal

# Sent inside the transaction when a directory entry gets a login (``employee``).
employee_linked = Signal()
