"""Server-side validation of the demo's input (the HTML form and the JSON API share it).

Each ``clean_*`` function returns the normalised value and an error message, exactly one of
which is ``None``. The limits are the database's contract, not only the page's: the form's
``maxlength`` attributes are a convenience, these checks are what protects the tables.
"""

from __future__ import annotations

import re

EMAIL_MAX = 254  # the longest address SMTP can carry (RFC 5321 path limit minus the brackets)
NAME_MAX = 100
KIND_MAX = 40

# One "@", no whitespace, a dot in the domain, neither part empty: catches typos without
# pretending to implement RFC 5322.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_KIND = re.compile(r"[a-z0-9_-]+")


def clean_email(value: str) -> tuple[str | None, str | None]:
    """``(email, None)`` with surrounding blanks removed and the domain lower-cased, or
    ``(None, message)`` when it is empty, longer than :data:`EMAIL_MAX` or not an address."""
    value = value.strip()
    if not value:
        return None, "Enter an email address."
    if len(value) > EMAIL_MAX:
        return None, f"An email address has at most {EMAIL_MAX} characters (this has {len(value)})."
    if not _EMAIL.fullmatch(value):
        return None, "Enter an email address like ada@example.com."
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}", None


def clean_name(value: str) -> tuple[str | None, str | None]:
    """``(name, None)`` stripped, or ``(None, message)`` when empty or over :data:`NAME_MAX`."""
    value = value.strip()
    if not value:
        return None, "Enter a name."
    if len(value) > NAME_MAX:
        return None, f"A name has at most {NAME_MAX} characters (this has {len(value)})."
    if any(ord(char) < 32 for char in value):
        return None, "A name cannot contain control characters."
    return value, None


def clean_kind(value: str) -> tuple[str | None, str | None]:
    """``(kind, None)`` for a short lower-case word (``login``, ``page_view``), or
    ``(None, message)``."""
    value = value.strip()
    if not value:
        return None, "Enter an event kind."
    if len(value) > KIND_MAX:
        return None, f"An event kind has at most {KIND_MAX} characters."
    if not _KIND.fullmatch(value):
        return None, "An event kind uses only a-z, 0-9, '_' and '-'."
    return value, None
