from sqlmodel import Session, select

from supervision.audit.models import AuditEntry
from supervision.audit.service import record_change, verify_chain
from supervision.registry.models import Department


def test_migrations_build_schema(session: Session) -> None:
    session.add(Department(code="SCJ", name="市场监督管理局"))
    session.flush()
    assert session.exec(select(Department)).one().name == "市场监督管理局"


def test_audit_chain_detects_tampering(session: Session) -> None:
    for i in range(3):
        record_change(session, "tester", "demo.change", "thing", str(i), {"n": i})
    assert verify_chain(session).ok
    entry = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()[1]
    entry.payload = '{"n":99}'
    session.add(entry)
    session.flush()
    report = verify_chain(session)
    assert not report.ok and report.first_bad_id == entry.id
