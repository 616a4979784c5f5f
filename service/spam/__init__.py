"""The spam filter that learns from each site's moderators (see :mod:`.filter` and :mod:`.model`)."""

from .filter import HOLD_AT, LOOKUP_COLUMNS, SPAM_AT, TRUST_BELOW, Judgement, Question, judge, question, retrain, teach

__all__ = ["HOLD_AT", "LOOKUP_COLUMNS", "SPAM_AT", "TRUST_BELOW", "Judgement", "Question", "judge", "question",
           "retrain", "teach"]
