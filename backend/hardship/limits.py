"""The hardship limits, in one place: the API's request schemas, the admin's forms and the operations all
use these (the operations check them too, so no door can let past what another refuses)."""

from __future__ import annotations

MAX_ATTACHMENTS = 20  # attachments per application
REASON_MAX = 2000  # characters of the applicant's reason
COMMENT_MAX = 1000  # characters of a staff comment, objection or reason
HOUSEHOLD_MAX = 50  # persons in a household
FIGURE_MAX_FEN = 10**10  # a declared income or expense (100 million yuan)
AMOUNT_MAX_FEN = 10**9  # an amount requested, granted or paid (10 million yuan)
