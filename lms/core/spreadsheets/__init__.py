"""Spreadsheets in and out: ``read`` opens untrusted uploads safely, ``write`` makes formula-safe exports."""
