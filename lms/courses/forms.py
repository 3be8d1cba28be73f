"""Forms for authoring courses (issue 3)."""
