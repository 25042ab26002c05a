"""Messages to people: a role's message goes to every active member of the role; unread ones
are shown on the staff pages, and mailed when an SMTP server is configured."""

import logging
import smtplib
from collections.abc import Iterable
from email.message import EmailMessage

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from supervision.accounts.models import Role, User
from supervision.clock import Clock
from supervision.inbox.models import Message
from supervision.settings import Settings

log = logging.getLogger("supervision.inbox")
MAX_BODY = 4000


def notify(
    session: Session,
    roles: Iterable[Role | str],
    *,
    kind: str,
    subject: str,
    body: str,
    link: str = "",
    clock: Clock,
) -> int:
    """One message per active member of ``roles``; returns how many were written."""
    names = session.exec(
        select(User.username).where(
            col(User.role).in_([str(r) for r in roles]), col(User.active).is_(True)
        )
    ).all()
    now = clock.now()
    for name in names:
        session.add(
            Message(
                username=name,
                kind=kind[:32],
                subject=subject[:200],
                body=body[:MAX_BODY],
                link=link[:300],
                created_at=now,
            )
        )
    session.flush()
    return len(names)


def messages(session: Session, username: str, limit: int = 100) -> list[Message]:
    return list(
        session.exec(
            select(Message)
            .where(Message.username == username)
            .order_by(col(Message.id).desc())
            .limit(limit)
        )
    )


def unread_count(session: Session, username: str) -> int:
    return session.exec(
        select(func.count())
        .select_from(Message)
        .where(Message.username == username, col(Message.read_at).is_(None))
    ).one()


def mark_read(session: Session, username: str, clock: Clock) -> int:
    """Every unread message of the user read now, in one statement; returns how many."""
    result = session.execute(
        update(Message)
        .where(col(Message.username) == username, col(Message.read_at).is_(None))
        .values(read_at=clock.now())
    )
    return result.rowcount


def send_mail(session: Session, clock: Clock, settings: Settings) -> dict[str, int]:
    """Mail the messages not yet mailed to users with an address (no-op without SMTP)."""
    if not settings.smtp_host:
        return {"sent": 0, "skipped": 0}
    pending = session.exec(
        select(Message, User.email)
        .join(User, col(User.username) == Message.username)
        .where(col(Message.emailed_at).is_(None), col(User.email).is_not(None))
        .order_by(Message.id)
        .limit(500)
    ).all()
    if not pending:
        return {"sent": 0, "skipped": 0}
    sent = 0
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        for message, address in pending:
            mail = EmailMessage()
            mail["From"] = settings.smtp_sender
            mail["To"] = address
            mail["Subject"] = message.subject
            link = f"\n\n{settings.public_url.rstrip('/')}{message.link}" if message.link else ""
            mail.set_content(message.body + link)
            smtp.send_message(mail)
            message.emailed_at = clock.now()
            session.add(message)
            sent += 1
    session.flush()
    return {"sent": sent, "skipped": 0}
