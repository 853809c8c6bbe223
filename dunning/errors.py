"""The one exception family of the domain: every failure a user can act on."""

from __future__ import annotations


class DunningError(Exception):
    """A failure that stops an operation, with a message a user can act on."""

    title = "Operation failed"


class WorkspaceError(DunningError):
    """The workspace file cannot be opened, read or migrated."""

    title = "Workspace unavailable"


class WorkspaceLocked(WorkspaceError):
    """Another process holds the workspace file."""

    title = "Workspace in use"


class ImportRefused(DunningError):
    """A file cannot be imported as a whole (as opposed to rejected rows)."""

    title = "Import refused"


class AmbiguousDateOrder(ImportRefused):
    """A date column reads both day-first and month-first; the user must choose."""

    title = "Date order needed"

    def __init__(self, message: str, columns: list[str]):
        super().__init__(message)
        self.columns = columns


class AlreadyImported(ImportRefused):
    """The same file (same bytes) was imported before."""

    title = "File already imported"


class NotFound(DunningError):
    """A customer, item or saved object named by the user does not exist."""

    title = "Not found"


class InvalidValue(DunningError):
    """A value given by the user (option, filter, setting) is not acceptable."""

    title = "Invalid value"


class SendingFailed(DunningError):
    """An email could not be handed to the SMTP server."""

    title = "Email not sent"
