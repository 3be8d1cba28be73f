"""CLI commands for classes and trainee imports."""

import click

cohorts_group = click.Group("cohorts", help="Manage classes (cohorts).")
trainees_group = click.Group("trainees", help="Import trainees.")
