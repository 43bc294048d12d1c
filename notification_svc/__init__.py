"""notification_svc: notification accounts, and every notification sent through its channel
(SMS gateway, e-mail) with a log of its delivery status."""
