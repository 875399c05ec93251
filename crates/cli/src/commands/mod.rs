//! One module per command.

mod browse;
pub mod catalog;
pub mod check;
pub mod config;
pub mod diff;
pub mod drill;
mod drill_history;
mod drill_show_text;
pub mod find;
pub mod forget;
mod forget_snapshot;
pub mod init;
pub mod key;
pub mod list;
pub mod ls;
pub mod prune;
pub mod repair;
pub mod restore;
pub mod run;
mod run_drills;
pub mod schedule;
pub mod schedule_units;
pub mod send;
pub mod status;
mod status_text;
pub mod unlock;
pub mod verify;
