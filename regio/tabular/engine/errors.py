class TabularError(Exception):
    """A file could not be read or a query was refused; ``str(exc)`` is a French sentence."""

    def __init__(self, message: str, *, code: str = "invalid"):
        super().__init__(message)
        self.code = code
