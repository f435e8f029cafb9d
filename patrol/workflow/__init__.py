"""Review items and (later) verification tasks: where flagged posts meet the people on the rota."""
