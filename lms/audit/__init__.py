"""Who looked at or took away whose personal data: an append-only log that admins can read and export."""
