"""Events other apps react to (appraisals, feedback). This app never imports them.

Receivers run inside the sender's transaction; anything slow they start goes through
``transaction.on_commit`` and Celery.
"""

from django.dispatch import Signal

# A cycle moved status. kwargs: cycle, from_status, to_status, actor (Membership).
cycle_status_changed = Signal()

# Something that weighs scores changed. kwargs: cycle (β, weighting or γ changed) or
# plan (α, allocation, dates or custom weight changed).
cycle_weights_changed = Signal()
plan_weights_changed = Signal()
