from django.dispatch import Signal

# Sent by services.check_link after each check: sender=CheckedLink, link=<CheckedLink>, check=<LinkCheck>.
link_checked = Signal()
