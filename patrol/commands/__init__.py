"""`patrol` sub-command groups, one module each."""
