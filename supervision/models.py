"""Every table model, imported in one place so metadata (and Alembic) sees them all."""

from supervision.accounts.models import ApiToken, LoginFailure, User  # noqa: F401
from supervision.audit.models import AuditAnchor, AuditEntry  # noqa: F401
from supervision.db import metadata  # noqa: F401
from supervision.documents.models import DocumentNumber  # noqa: F401, E402
from supervision.enforcement.models import (  # noqa: F401, E402
    EnforcementCandidate,
    ListEntry,
    ListEvent,
)
from supervision.inbox.models import Message  # noqa: F401, E402
from supervision.inspection.models import (  # noqa: F401, E402
    EvidenceFile,
    ResultLine,
    ResultVersion,
)
from supervision.jobs.models import JobRun  # noqa: F401, E402
from supervision.planning.models import (  # noqa: F401, E402
    Batch,
    BatchItem,
    BatchTemplate,
    CeremonyAttempt,
    Commitment,
    Draw,
    DrawEvent,
    Plan,
    PlanChange,
    Task,
    TaskMember,
)
from supervision.registry.models import (  # noqa: F401
    AnnualReport,
    ConflictDeclaration,
    Department,
    Entity,
    Industry,
    InspectionItem,
    Inspector,
    Region,
    Unit,
)
from supervision.storage.models import StoredFile  # noqa: F401, E402
