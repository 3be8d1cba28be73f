"""Importing trainees into a class from an organizer's own spreadsheet (see rows.py for the rules)."""

from lms.cohorts.importing.rows import *  # noqa: F403 - the pipeline's public names, moved in the next step
