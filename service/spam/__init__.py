"""The spam filter that learns from each site's moderators (see :mod:`.filter` and :mod:`.model`)."""

from .filter import HOLD_AT, SPAM_AT, TRUST_BELOW, Judgement, judge, retrain, teach

__all__ = ["HOLD_AT", "SPAM_AT", "TRUST_BELOW", "Judgement", "judge", "retrain", "teach"]
