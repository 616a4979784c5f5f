"""Notifications, through an outbox written with the change that causes them.

A notification exists if and only if the change it announces was committed,
and a reader's post never waits for a mail server: the write path only adds
outbox rows, in its own transaction, and ``causerie worker`` delivers them
later, retrying what failed.

- :mod:`.outbox`: the rows, written through its one :func:`~.outbox.add`, and
  their life: claims, retries, clean-up
- :mod:`.events`: which deliveries a change to a comment calls for
- :mod:`.delivery`: the worker's pass, and which module delivers each channel
- :mod:`.emails`: held and reported comments to moderators, replies to a
  commenter, the confirmation an address is asked
- :mod:`.digests`: the hourly or daily summary of what is waiting
- :mod:`.follow`: a followed page's new comments, grouped
- :mod:`.webhooks`: signed JSON posts to a site's receiver
- :mod:`.subscriptions`: asking an address, its yes, unsubscribing

Channels (an outbox row's ``payload["channel"]``):

``moderators``  an email per held or reported comment, or published comment
                its author's edit sent back to the queue (site digest "instant")
``digest``      an hourly or daily summary of what is waiting
``reply``       tells a commenter who asked for it that someone answered
``confirm``     asks an address whether it wants those emails (see subscriptions)
``follow``      a followed page's new comments: one row per page and hour, which
                becomes one ``followed`` email per follower when it is due
``webhook``     a signed JSON POST for new and moderated comments
"""
