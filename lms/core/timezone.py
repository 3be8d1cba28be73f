"""Stored in UTC, shown in Vietnam: the one owner of the project's time zone."""

from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
