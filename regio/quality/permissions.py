def can_manage_schemas(user) -> bool:
    """The région's data staff: superusers, staff and the chief data officer (AGD)."""
    return bool(user and user.is_authenticated and user.is_active and (user.is_superuser or user.is_staff or getattr(user, "is_cdo", False)))
