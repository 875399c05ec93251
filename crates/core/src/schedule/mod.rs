//! Schedules: systemd calendar events and cron expressions (work in progress).
