"""CLI commands for attendance."""

import click

attendance_group = click.Group("attendance", help="Attendance exports.")
