"""Certificates: issued when a course is completed, printed as PDF, verified by anyone with a code or a signature."""

#: Where the installation publishes its public keys (signing.py loads cryptography only when it signs).
KEYS_PATH = "/.well-known/lang-so-keys.json"
