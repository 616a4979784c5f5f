"""Every fixed size the service enforces, in one place.

The columns in ``models``, the API's validation, the importers, the
moderation forms and the templates' ``maxlength`` attributes (the global
``limits``) all read them here, so a check can never let through what its
column cannot hold, nor refuse what another check accepts.  The length of
a comment's text is a setting instead (``CAUSERIE_MAX_COMMENT_LENGTH``).
"""

# Integer columns, ids included, are 32-bit on PostgreSQL: a larger id
# cannot name anything (an API field is refused, a URL is not found), a
# larger number in a backup is refused.
MAX_ID = 2**31 - 1

MAX_SITE_KEY = 64
MAX_SITE_NAME = 200
MAX_URL = 2048
MAX_TITLE = 300
MAX_THREAD_KEY = 200
# What a reader may type as their name; the column keeps the longer names
# other systems allowed, for imported comments.
MAX_AUTHOR = 80
MAX_STORED_AUTHOR = 100
MAX_EMAIL = 254
MAX_WEBSITE = 500
MAX_WEBHOOK_URL = 500
# Who acted, and what they did, in the audit log.
MAX_ACTOR = 100
MAX_ACTION = 32
# A reader's report, or a moderator's note on a ban.
MAX_REASON = 500
MAX_COMMENTER_KEY = 200
MAX_LANGUAGE_TAG = 35  # the longest common BCP 47 tags, as readers send them
MAX_LANGUAGE_CODE = 8  # a language as stored (``fr``)
MAX_TICKET = 500
# The source's identifier of an imported comment.
MAX_IMPORT_REF = 200
# A staff reply, or a staff edit of a reader's comment.
MAX_STAFF_TEXT = 10_000
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
MAX_SEARCH = 200  # the queue's search box
# A site's list settings (origins, words, addresses): entries, and the
# settings page's text area, room for that many long entries and no more.
MAX_LIST_ITEMS = 500
MAX_LIST_TEXT = 20_000
MAX_SPAM_FEATURE = 100
