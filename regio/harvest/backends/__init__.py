"""Harvest backends plugged into the core ingest engine (``regio.core.ingest``), one per portal kind."""

from regio.core.ingest.registry import register


def register_backends() -> None:
    from .ckan import CkanBackend
    from .csw import CswBackend
    from .dcat import DcatBackend
    from .ods import OdsBackend
    from .scdl import ScdlCatalogBackend
    from .udata import UdataBackend

    for kind, backend in {
        "ckan": CkanBackend(), "udata": UdataBackend(), "ods": OdsBackend(), "dcat": DcatBackend(),
        "csw": CswBackend(), "scdl-catalog": ScdlCatalogBackend(),
    }.items():
        register(kind, backend)
