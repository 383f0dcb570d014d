"""Shared BingX venue types: enums, credentials, URLs."""
