"""The business rules. Importing this package installs the match-index flush hook."""

from app.services import match_sync as match_sync
