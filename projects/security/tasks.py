"""Celery tasks of account security: thin wrappers over services."""

import smtplib

from celery import shared_task

from projects.security import services


@shared_task(autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=60, retry_backoff_max=1800, max_retries=5)
def password_reset_mail(*, user_id, language):
    """The reset mail, sent by a worker: the request that asked for it answers at once, known address or
    not (no account enumeration by timing); the link is made when the mail is sent."""
    services.password_reset_mail_send(user_id=user_id, language=language)
