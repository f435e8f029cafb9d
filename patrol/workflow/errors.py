"""What can go wrong in the workflow, as exceptions the API maps to HTTP statuses.

Messages are written for the person at the desk: what was refused, why, and what to do instead.
"""

from __future__ import annotations


class WorkflowError(Exception):
    """Base class; `code` is a stable machine-readable name for the API's error body."""

    code = "workflow_error"


class NotFound(WorkflowError):
    code = "not_found"


class PermissionDenied(WorkflowError):
    code = "forbidden"


class TransitionNotAllowed(WorkflowError):
    """The object is not in a state that allows this action (e.g. dismissing an unclaimed item)."""

    code = "transition_not_allowed"


class ClaimConflict(WorkflowError):
    """Someone else holds the item's claim."""

    code = "claim_conflict"


class InvalidInput(WorkflowError):
    code = "invalid_input"


class EvidenceRejected(InvalidInput):
    code = "evidence_rejected"


class EvidenceTooLarge(EvidenceRejected):
    code = "evidence_too_large"


class AuthenticationFailed(WorkflowError):
    code = "authentication_failed"


class EvidenceCorrupted(WorkflowError):
    """Stored evidence no longer matches its recorded SHA-256."""

    code = "evidence_corrupted"
