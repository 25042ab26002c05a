"""The inbox's scheduled work: mail the messages not yet mailed (when SMTP is configured)."""

from typing import Any

from sqlmodel import Session

from supervision.clock import Clock
from supervision.inbox.service import send_mail
from supervision.jobs.runner import Job
from supervision.settings import Settings


def mail(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    sent = send_mail(session, clock, settings)
    return {**sent, "idle": sent["sent"] == 0}


JOBS = [Job("inbox.mail", mail, cron={}, description="收件箱消息邮件发送", tick=True)]
