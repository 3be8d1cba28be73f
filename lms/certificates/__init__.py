"""Certificates: issued when a course is completed, printed as PDF, verified by anyone with a code or a signature."""
