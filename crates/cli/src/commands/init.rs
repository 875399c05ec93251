//! `backup init`.

use anyhow::{Context, Result};
use backup_core::{ChunkerParams, ConfigBody, InitOptions, KdfParams, Repository};

use crate::cli::{GlobalArgs, InitArgs};
use crate::context;
use crate::exit::ExitStatus;

pub fn run(g: &GlobalArgs, a: &InitArgs) -> Result<ExitStatus> {
    let backend = context::backend(g)?;
    let pass = context::passphrase(g)?;
    let avg = a.chunk_avg.saturating_mul(1024);
    let opts = InitOptions {
        kdf: KdfParams {
            memory_kib: a.kdf_memory,
            iterations: a.kdf_iterations,
            parallelism: 1,
        },
        config: ConfigBody {
            chunker: ChunkerParams {
                min: avg / 4,
                avg,
                max: avg.saturating_mul(4),
            },
            pack_size: a.pack_size.saturating_mul(1024 * 1024),
            zstd_level: a.zstd_level,
            ..ConfigBody::default()
        },
    };
    context::check_new_kdf(g, &opts.kdf)?;
    let loc = backend.location();
    let repo = Repository::init(backend, &pass, opts)
        .with_context(|| format!("creating a repository at {loc}"))?;
    println!("created repository {} at {loc}", repo.id());
    println!("Keep the passphrase safe: without it the data cannot be read back.");
    Ok(ExitStatus::Success)
}
