"""Maintenance jobs: what a job is, and the schedule that runs them.

Register a job once, from the feature that owns it::

    runtime.maintenance.register_job(
        JobSpec("command-expiry", settings.job_command_expiry_seconds, expire_commands)
    )

The built-in jobs are in ``relay.maintenance.builtin``; the MaintenanceActor that
keeps each job's state is ``relay.actors.maintenance``.
"""

from relay.maintenance.jobs import JobFunction, JobSpec
from relay.maintenance.scheduler import JobLedger, Maintenance

__all__ = ["JobFunction", "JobLedger", "JobSpec", "Maintenance"]
