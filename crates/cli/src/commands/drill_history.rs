//! `backup drill history` and `backup drill show`.

use anyhow::Result;

use crate::cli::{DrillHistoryArgs, DrillShowArgs, GlobalArgs};
use crate::exit::ExitStatus;

pub fn history(_g: &GlobalArgs, _a: &DrillHistoryArgs) -> Result<ExitStatus> {
    anyhow::bail!("drill history: being written")
}

pub fn show(_g: &GlobalArgs, _a: &DrillShowArgs) -> Result<ExitStatus> {
    anyhow::bail!("drill show: being written")
}
