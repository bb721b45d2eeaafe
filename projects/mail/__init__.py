"""Mail that must arrive once: the delivery guarantees (delivery.py) and the digests that ride on them
(digests.py). Other capabilities register the mails they send (delivery.renders_mail)."""
