"""Running the patrol unattended: the continuous scheduler, source locks, backoff, kill points for
fault injection, metrics and health endpoints, retention, backup and restore, pseudonymisation.

Every module here drives the stage functions of `patrol.stages`; none re-implements a stage.
"""
