//! The async runtime under the remote backends.
//!
//! The library is synchronous (threads and channels); the S3 and SFTP
//! clients are async. One small runtime per process drives them, and each
//! backend call blocks its calling thread on it (`block_on` may be called
//! from many threads at once), so parallel uploads are parallel threads of
//! the ingest pipeline, each waiting on its own request.

use std::sync::OnceLock;

/// The process's runtime, started on first use.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("backup-io")
            .enable_all()
            .build()
            .expect("starting the I/O runtime")
    })
}
