from django.dispatch import Signal

# Sent by services.convert_resource when a conversion ends (ready or failed): sender=TabularResource,
# resource=<TabularResource>. The quality app validates the file against its declared schema.
resource_converted = Signal()
